import Foundation
import Testing
@testable import GrowkitStorage

@Suite("atomic writer")
struct AtomicWriterTests {
    @Test("a committed writer leaves the final file and no temporary file")
    func committed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let destination = folder.file("out.h5")
        let writer = try AtomicHDF5Writer(destination: destination)
        #expect(writer.temporaryPath.hasPrefix(folder.path + "/.out.h5.tmp-\(getpid())-"))
        let group = try writer.file.createGroup("params")
        try group.writeDataset("w", [Float](repeating: 2, count: 12), shape: [3, 4])
        #expect(try folder.contents().count == 1)
        #expect(!FileManager.default.fileExists(atPath: destination))
        try writer.commit()
        #expect(try folder.contents() == ["out.h5"])
        // An object opened before commit is closed with the file, not left dangling.
        #expect(!group.isOpen)
        #expect(try HDF5File.openReadOnly(destination).readDataset("params/w", as: Float.self) == [Float](repeating: 2, count: 12))
    }

    @Test("an abandoned writer (deinit, error or abandon) leaves nothing behind")
    func abandoned() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let destination = folder.file("out.h5")
        do {
            let writer = try AtomicHDF5Writer(destination: destination)
            try writer.file.setAttribute("format", string: "growkit.training-state")
            // Dropped without commit.
        }
        #expect(try folder.contents() == [])

        struct Failure: Error {}
        #expect(throws: Failure.self) {
            let writer = try AtomicHDF5Writer(destination: destination)
            try writer.file.writeDataset("w", [Float](repeating: 1, count: 4), shape: [4])
            throw Failure()
        }
        #expect(try folder.contents() == [])

        let writer = try AtomicHDF5Writer(destination: destination)
        writer.abandon()
        #expect(try folder.contents() == [])
        #expect(throws: StorageError.self) { try writer.commit() }
        #expect(try folder.contents() == [])
    }

    @Test("an existing destination is refused unless overwriting is asked for")
    func existing() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let destination = folder.file("out.h5")
        try "old".write(toFile: destination, atomically: false, encoding: .utf8)
        #expect(throws: StorageError.alreadyExists(file: destination, object: "the output file")) {
            _ = try AtomicHDF5Writer(destination: destination)
        }
        let writer = try AtomicHDF5Writer(destination: destination, overwrite: true)
        try writer.file.setAttribute("format_version", int64: 1)
        try writer.commit()
        #expect(try HDF5File.openReadOnly(destination).int64Attribute("format_version") == 1)
        #expect(try folder.contents() == ["out.h5"])
    }
}
