import Foundation
import Testing
@testable import GrowkitStorage

/// Chunks read in slices (HDF5Dataset+ChunkRuns.swift): a chunk larger than a
/// run, or a request spread over threads, is read in pieces whose fletcher32
/// sums are joined before the chunk is checked; the edge chunk's padding and the
/// unwanted rows of partly wanted chunks are read to scratch and checked too.
@Suite("chunk slices and edge chunks")
struct ChunkSliceTests {
    // 3 chunks of 512 rows x 768 float32 (1.5 MiB each, more than
    // `ChunkRunTuning.runBytes`: every chunk is sliced), the last one holding only
    // 476 rows and stored padded to 512.
    static let rows = 1500, columns = 768, chunkRows = 512
    static let chunkBytes = chunkRows * columns * 4

    static func write(_ path: String) throws -> [Float] {
        let values = (0..<(rows * columns)).map { Float(($0 &* 7919) % 100_003) * 0.125 - 5000 }
        let file = try HDF5File.create(path)
        try file.writeDataset("params/w", values, shape: [rows, columns], options: DatasetOptions(chunkShape: [chunkRows, columns]))
        try file.close()
        return values
    }

    @Test("the test chunks are larger than a run, so they are read in slices")
    func sizedForSlices() {
        #expect(Self.chunkBytes > ChunkRunTuning.runBytes)
        #expect(Self.rows % Self.chunkRows != 0)
    }

    @Test("sliced chunks read back bit-exact, whole and by rows, on one thread and on several", arguments: [1, 4])
    func readsBack(threads: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("slices.h5")
        let values = try Self.write(path)
        let file = try HDF5File.openReadOnly(path)
        file.readThreads = threads
        let dataset = try file.openDataset("params/w")
        let whole = try dataset.read(Float.self)
        #expect(whole.elementsEqual(values) { $0.bitPattern == $1.bitPattern })
        // Requests starting and ending inside chunks, within one chunk, and in the edge chunk.
        for range in [5..<1499, 511..<1025, 1..<2, 1024..<1500, 1400..<1500, 0..<512, 700..<701] {
            let expected = Array(values[(range.lowerBound * Self.columns)..<(range.upperBound * Self.columns)])
            #expect(try dataset.readRows(range, as: Float.self) == expected, "rows \(range), \(threads) threads")
        }
    }

    /// Byte offsets within chunk `chunk`: in its first slice, in its last slice
    /// (read by another piece, on another worker when there are several), in the
    /// edge chunk's padding (no row of the dataset, still checksummed), and in the
    /// stored checksum itself.
    @Test("a flipped byte in any slice, in the padding or in the checksum is a checksum error",
          arguments: [(0, 100), (1, chunkBytes - 3), (2, chunkBytes - 1000), (2, chunkBytes + 1)])
    func corruptionDetected(chunk: Int, offset: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("corrupt.h5")
        _ = try Self.write(path)
        let (address, size) = try chunkLocation(path, "params/w", index: chunk)
        #expect(size == UInt64(Self.chunkBytes + 4))
        try flipBits(path, at: address + UInt64(offset), mask: 0x04)
        for threads in [1, 4] {
            let file = try HDF5File.openReadOnly(path)
            file.readThreads = threads
            let dataset = try file.openDataset("params/w")
            let error = #expect(throws: StorageError.self) { try dataset.read(Float.self) }
            #expect(error == .checksumMismatch(file: path, dataset: "/params/w"), "\(threads) threads")
            // Any rows of the damaged chunk: the whole chunk is checked.
            let chunkStart = chunk * Self.chunkRows
            let rowError = #expect(throws: StorageError.self) { try dataset.readRows(chunkStart..<(chunkStart + 1), as: Float.self) }
            #expect(rowError == .checksumMismatch(file: path, dataset: "/params/w"), "\(threads) threads")
        }
    }

    @Test("rows of an odd number of bytes read correctly (partly wanted chunks through H5Dread_chunk)")
    func oddRowBytes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("odd.h5")
        let rows = 101, columns = 33
        let values = (0..<(rows * columns)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("bytes", values, shape: [rows, columns], options: DatasetOptions(chunkShape: [10, columns]))
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        let dataset = try file.openDataset("bytes")
        #expect(try dataset.read(UInt8.self) == values)
        for range in [1..<100, 0..<101, 9..<11, 95..<101, 3..<4] {
            let expected = Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)])
            #expect(try dataset.readRows(range, as: UInt8.self) == expected, "rows \(range)")
        }
    }
}
