import CHDF5
import Foundation
import Testing
@testable import GrowkitStorage

@Suite("file errors")
struct FileErrorTests {
    @Test("a missing file, a text file, an empty file and a folder are refused clearly")
    func notAnHDF5File() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let missing = folder.file("missing.h5")
        #expect(throws: StorageError.fileNotFound(file: missing)) { try HDF5File.openReadOnly(missing) }
        let text = folder.file("notes.h5")
        try "this is not HDF5\n".write(toFile: text, atomically: false, encoding: .utf8)
        let error = #expect(throws: StorageError.self) { try HDF5File.openReadOnly(text) }
        #expect(error == .notHDF5(file: text))
        #expect(error?.description == "\(text) is not an HDF5 file; pass an HDF5 file written by growkit or h5py.")
        let empty = folder.file("empty.h5")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: StorageError.notHDF5(file: empty)) { try HDF5File.openReadOnly(empty) }
        #expect(throws: StorageError.self) { try HDF5File.openReadOnly(folder.path) }
        #expect(!HDF5File.isHDF5(text))
    }

    @Test("a file cut in half is reported as truncated or damaged")
    func truncated() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let good = folder.file("good.h5")
        do {
            let file = try HDF5File.create(good)
            try file.setAttribute("format", string: "growkit.training-state")
            try file.writeDataset("params/w", (0..<20_000).map { Float($0) }, shape: [200, 100])
            try file.writeDataset("params/b", [Float](repeating: 0.5, count: 100), shape: [100])
            try file.close()
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let half = folder.file("half.h5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: half))
        let error = #expect(throws: StorageError.self) {
            let file = try HDF5File.openReadOnly(half)
            _ = try file.readDataset("params/w", as: Float.self)
            _ = try file.readDataset("params/b", as: Float.self)
        }
        guard case .damaged(let file, _, _) = error else {
            Issue.record("expected .damaged, got \(String(describing: error))")
            return
        }
        #expect(file == half)
        #expect(error?.description.contains("the file is truncated or damaged") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test("a flipped byte in a chunk fails fletcher32 with a checksum error")
    func checksumMismatch() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("corrupt.h5")
        let values = (0..<(64 * 32)).map { Float($0) }
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("params/w", values, shape: [64, 32], options: DatasetOptions(chunkShape: [16, 32]))
            try file.close()
        }
        // Where is chunk 1 in the file? H5Dget_chunk_info (HDF5 >= 1.10.5).
        let (address, size) = try chunkLocation(path, "params/w", index: 1)
        #expect(size == 16 * 32 * 4 + 4)  // data plus the 4-byte fletcher32 checksum
        try flipBits(path, at: address + 100, mask: 0xFF)

        let file = try HDF5File.openReadOnly(path)
        let error = #expect(throws: StorageError.self) { try file.readDataset("params/w", as: Float.self) }
        #expect(error == .checksumMismatch(file: path, dataset: "/params/w"))
        #expect(error?.description.contains("checksum mismatch in dataset /params/w: the file is corrupted; restore it from a good copy") == true)
        // Rows in an intact chunk still read.
        #expect(try file.openDataset("params/w").readRows(0..<16, as: Float.self) == Array(values[0..<(16 * 32)]))
    }

    @Test("automatic HDF5 error printing is off after the library is set up")
    func noAutomaticErrorPrinting() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // Any entry point sets the library up; then provoke an HDF5 failure.
        #expect(throws: StorageError.self) { try HDF5File.openReadOnly(folder.file("none.h5")) }
        let file = try HDF5File.create(folder.file("x.h5"))
        #expect(throws: StorageError.self) { try file.openDataset("nothing") }
        var function: H5E_auto2_t? = nil
        var data: UnsafeMutableRawPointer? = nil
        #expect(H5Eget_auto2(growkit_H5E_DEFAULT(), &function, &data) >= 0)
        #expect(function == nil)
    }
}

/// Flips the bits `mask` of the byte at `offset` of the file at `path`, in place (a corrupted chunk).
func flipBits(_ path: String, at offset: UInt64, mask: UInt8) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    try handle.seek(toOffset: offset)
    let byte = try #require(handle.readData(ofLength: 1).first)
    try handle.seek(toOffset: offset)
    handle.write(Data([byte ^ mask]))
    try handle.close()
}

/// File address and stored size of chunk `index` of a dataset, through the C API.
func chunkLocation(_ path: String, _ dataset: String, index: Int) throws -> (address: UInt64, size: UInt64) {
    let file = try HDF5File.openReadOnly(path)
    let handle = try file.openDataset(dataset)
    defer { withExtendedLifetime(handle) {} }
    let did = handle.rawID
    let space = H5Dget_space(did)
    defer { H5Sclose(space) }
    var offset = [hsize_t](repeating: 0, count: 8)
    var mask: UInt32 = 0
    var address: haddr_t = 0
    var size: hsize_t = 0
    try #require(H5Dget_chunk_info(did, space, hsize_t(index), &offset, &mask, &address, &size) >= 0)
    return (UInt64(address), UInt64(size))
}
