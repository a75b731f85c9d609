import Testing
@testable import GrowkitStorage

/// Read-only files open datasets from cached parent groups (`HDF5File`):
/// the same datasets and the same errors as opening by full path.
@Suite("cached parent groups of read-only files")
struct ParentGroupCacheTests {
    @Test("datasets open from cached groups, by relative and absolute paths, with the same errors")
    func sameDatasetsAndErrors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("groups.h5")
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("params/model/layers/0/w", [Float(1), 2, 3], shape: [3])
            try file.writeDataset("params/model/layers/0/b", [Float(4)], shape: [1])
            try file.writeDataset("params/model/layers/1/w", [Float(5), 6], shape: [2])
            try file.writeDataset("top", [Float(7)], shape: [1])
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        // Twice each: the second open comes from the cache.
        for _ in 0..<2 {
            let w0 = try file.openDataset("params/model/layers/0/w")
            #expect(w0.objectPath == "/params/model/layers/0/w")
            #expect(try w0.read(Float.self) == [1, 2, 3])
            #expect(try file.openDataset("params/model/layers/0/b").read(Float.self) == [4])
            #expect(try file.openDataset("params/model/layers/1/w").read(Float.self) == [5, 6])
            #expect(try file.openDataset("/params/model/layers/1/w").read(Float.self) == [5, 6])
            #expect(try file.openDataset("top").read(Float.self) == [7])
        }
        let missing = #expect(throws: StorageError.self) { try file.openDataset("params/model/layers/0/missing") }
        #expect(missing == .missingObject(file: path, object: "/params/model/layers/0/missing"))
        let missingGroup = #expect(throws: StorageError.self) { try file.openDataset("params/model/layers/7/w") }
        #expect(missingGroup == .missingObject(file: path, object: "/params/model/layers/7/w"))
        // A dataset in the middle of the path, and a group where a dataset is asked for.
        #expect(throws: StorageError.self) { try file.openDataset("params/model/layers/0/w/x") }
        let group = #expect(throws: StorageError.self) { try file.openDataset("params/model/layers/0") }
        #expect(group == .wrongType(file: path, object: "/params/model/layers/0", expected: "a dataset", found: "a group"))
        try file.close()
        #expect(throws: StorageError.self) { try file.openDataset("params/model/layers/0/w") }
    }
}
