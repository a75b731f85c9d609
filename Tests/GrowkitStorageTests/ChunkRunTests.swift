import Foundation
import Testing
@testable import GrowkitStorage

/// Runs of contiguous chunks read with `preadv` and verified on several threads
/// (HDF5Dataset+ChunkRuns.swift): same values as HDF5's pipeline, and a flipped
/// byte in any run, including one a second worker reads, raises the same error.
@Suite("chunk runs on several threads")
struct ChunkRunTests {
    // 128 chunks of 16 rows x 1024 float32 (64 KiB each): 8 MiB, at
    // `parallelMinimumBytes`, so the runs are split over the workers (on a machine
    // with one core they run on the calling thread; the checks are the same).
    static let rows = 2048, columns = 1024, chunkRows = 16

    static func write(_ path: String) throws -> [Float] {
        let values = (0..<(rows * columns)).map { Float($0 % 65_521) * 0.25 - 100 }
        let file = try HDF5File.create(path)
        try file.writeDataset("params/w", values, shape: [rows, columns], options: DatasetOptions(chunkShape: [chunkRows, columns]))
        try file.close()
        return values
    }

    @Test("the test dataset is large enough for the parallel path")
    func sizedForParallelPath() {
        #expect(Self.rows * Self.columns * 4 >= ChunkRunTuning.parallelMinimumBytes)
        #expect(Self.rows / Self.chunkRows >= 2 * ChunkRunTuning.workers)
    }

    @Test("a parallel read returns what HDF5's own pipeline returns, whole and by rows")
    func agreesWithHDF5() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("runs.h5")
        let values = try Self.write(path)
        let file = try HDF5File.openReadOnly(path)
        let dataset = try file.openDataset("params/w")
        #expect(try dataset.read(Float.self) == values)
        // Requests starting and ending inside chunks: partial chunks through
        // H5Dread_chunk, the whole chunks between them as runs.
        for range in [5..<2000, 16..<2048, 0..<600, 31..<33] {
            let expected = Array(values[(range.lowerBound * Self.columns)..<(range.upperBound * Self.columns)])
            #expect(try dataset.readRows(range, as: Float.self) == expected, "rows \(range)")
        }
    }

    /// Chunk indices in the first, second (read by the second worker when there
    /// are two) and last run of a whole-dataset read.
    @Test("a flipped byte in any run is a checksum error", arguments: [0, 17, 127])
    func corruptionDetected(chunk: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("corrupt.h5")
        let values = try Self.write(path)
        let (address, size) = try chunkLocation(path, "params/w", index: chunk)
        #expect(size == UInt64(Self.chunkRows * Self.columns * 4 + 4))
        try flipBits(path, at: address + 4097, mask: 0x10)

        let file = try HDF5File.openReadOnly(path)
        let dataset = try file.openDataset("params/w")
        let error = #expect(throws: StorageError.self) { try dataset.read(Float.self) }
        #expect(error == .checksumMismatch(file: path, dataset: "/params/w"))
        // Rows that avoid the damaged chunk still read.
        let clean = chunk == 0 ? (Self.chunkRows)..<(Self.rows) : 0..<(chunk * Self.chunkRows)
        let expected = Array(values[(clean.lowerBound * Self.columns)..<(clean.upperBound * Self.columns)])
        #expect(try dataset.readRows(clean, as: Float.self) == expected)
    }
}

@Suite("chunk runs on the calling thread")
struct SingleThreadChunkRunTests {
    @Test("readThreads = 1 reads the same values and detects the same corruption")
    func singleThread() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("one.h5")
        let values = try ChunkRunTests.write(path)
        do {
            let file = try HDF5File.openReadOnly(path)
            file.readThreads = 1
            #expect(try file.openDataset("params/w").read(Float.self) == values)
        }
        let (address, _) = try chunkLocation(path, "params/w", index: 40)
        try flipBits(path, at: address + 8, mask: 0x01)
        let file = try HDF5File.openReadOnly(path)
        file.readThreads = 1
        let error = #expect(throws: StorageError.self) { try file.openDataset("params/w").read(Float.self) }
        #expect(error == .checksumMismatch(file: path, dataset: "/params/w"))
    }
}
