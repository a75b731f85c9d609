import Foundation
import Testing
@testable import GrowkitStorage

/// `HDF5Dataset.read(into:overlapping:)`: the caller's work runs while the workers
/// read the chunks; the bytes, the checks and the errors are those of `read(into:)`.
@Suite("reads overlapping other work")
struct ReadAheadTests {
    /// Datasets of every kind the read can meet: sliced multi-chunk with a padded edge chunk
    /// (`ChunkSliceTests`' layout), one small chunk, zstd (read without chunk runs), scalar,
    /// odd row bytes, and empty.
    static func write(_ path: String) throws -> [String: [Float]] {
        let file = try HDF5File.create(path)
        var written: [String: [Float]] = [:]
        func add(_ name: String, _ shape: [Int], _ options: DatasetOptions) throws {
            let values = (0..<shape.reduce(1, *)).map { Float(($0 &* 7919 &+ name.count) % 100_003) * 0.5 - 900 }
            try file.writeDataset(name, values, shape: shape, options: options)
            written[name] = values
        }
        try add("sliced", [1500, 768], DatasetOptions(chunkShape: [512, 768]))
        try add("small", [3, 5], DatasetOptions())
        try add("zstd", [300, 64], DatasetOptions(chunkShape: [64, 64], zstdLevel: 3))
        try add("scalar", [], DatasetOptions())
        try add("vector", [7], DatasetOptions())
        try add("empty", [0], DatasetOptions())
        try file.close()
        return written
    }

    @Test("every dataset reads back bit-exact and the work runs exactly once", arguments: [1, 2, 4])
    func readsBack(threads: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("ahead.h5")
        let written = try Self.write(path)
        let file = try HDF5File.openReadOnly(path)
        file.readThreads = threads
        for (name, values) in written.sorted(by: { $0.key < $1.key }) {
            let dataset = try file.openDataset(name)
            if name.hasPrefix("s") { try dataset.prepareRead() }  // prepared or not: same result
            var back = [Float](repeating: .nan, count: values.count)
            var calls = 0
            try back.withUnsafeMutableBufferPointer { buffer in
                try dataset.read(into: buffer, overlapping: { () throws(StorageError) in calls += 1 })
            }
            #expect(back.elementsEqual(values) { $0.bitPattern == $1.bitPattern }, "\(name), \(threads) threads")
            #expect(calls == 1, "\(name): work ran \(calls) times")
        }
    }

    @Test("the work may use HDF5: it opens and prepares the next dataset while this one is read")
    func workOpensTheNextDataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("chain.h5")
        let written = try Self.write(path)
        let file = try HDF5File.openReadOnly(path)
        let names = ["sliced", "small", "zstd", "sliced", "vector"]
        var next: HDF5Dataset? = try file.openDataset(names[0])
        for (index, name) in names.enumerated() {
            let dataset = try #require(next)
            let values = try #require(written[name])
            var back = [Float](repeating: .nan, count: values.count)
            try back.withUnsafeMutableBufferPointer { buffer in
                try dataset.read(into: buffer, overlapping: { () throws(StorageError) in
                    next = index + 1 < names.count ? try file.openDataset(names[index + 1]) : nil
                    try next?.prepareRead()
                })
            }
            #expect(back == values, "\(name)")
        }
    }

    @Test("a corrupted chunk is a checksum error, the work's error comes first, and the reads finish either way")
    func errors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("bad.h5")
        _ = try Self.write(path)
        let (address, _) = try chunkLocation(path, "sliced", index: 1)
        try flipBits(path, at: address + 4000, mask: 0x04)
        let file = try HDF5File.openReadOnly(path)
        let dataset = try file.openDataset("sliced")
        var back = [Float](repeating: 0, count: 1500 * 768)
        let checksum = #expect(throws: StorageError.self) {
            try back.withUnsafeMutableBufferPointer { buffer in
                try dataset.read(into: buffer, overlapping: { () throws(StorageError) in })
            }
        }
        #expect(checksum == .checksumMismatch(file: path, dataset: "/sliced"))
        let missing = #expect(throws: StorageError.self) {
            try back.withUnsafeMutableBufferPointer { buffer in
                try dataset.read(into: buffer, overlapping: { () throws(StorageError) in _ = try file.openDataset("nothing") })
            }
        }
        #expect(missing == .missingObject(file: path, object: "/nothing"))
        // The pool is free again: a plain read of an intact dataset still works.
        let small = try file.openDataset("small").read(Float.self)
        #expect(small.count == 15)
    }
}
