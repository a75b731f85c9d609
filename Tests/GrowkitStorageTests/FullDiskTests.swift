import CHDF5
import Foundation
import Testing
@testable import GrowkitStorage

/// A full disk (ENOSPC) while writing: one `.noSpace` error naming the mount point
/// and the destination, no temporary file left, the previous file untouched, and
/// no crash afterwards (HDF5 1.10's exit handler crashed on the unclosable file).
@Suite("full disk")
struct FullDiskTests {
    /// Injects ENOSPC at the storage layer: the writer's own descriptor is
    /// replaced by one of `/dev/full`, whose every write fails with ENOSPC.
    @Test("an injected ENOSPC becomes .noSpace; the temporary file is removed and the old file kept")
    func injectedENOSPC() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let destination = folder.file("out.h5")
        try "previous contents".write(toFile: destination, atomically: false, encoding: .utf8)
        let writer = try AtomicHDF5Writer(destination: destination, overwrite: true)
        writer.expectedBytes = 4 << 20
        try writer.file.writeDataset("small", [Float](repeating: 1, count: 16), shape: [16])

        var handle: UnsafeMutableRawPointer? = nil
        #expect(H5Fget_vfd_handle(writer.file.rawID, growkit_H5P_DEFAULT(), &handle) >= 0)
        let descriptor = try #require(handle).load(as: Int32.self)
        let full = open("/dev/full", O_WRONLY)
        try #require(full >= 0, "/dev/full is missing; the ENOSPC injection needs it")
        #expect(dup2(full, descriptor) == descriptor)
        close(full)

        var caught: StorageError? = nil
        do {
            try writer.file.writeDataset("big", [Float](repeating: 2, count: 1 << 20), shape: [1 << 20])
            try writer.commit()
        } catch {
            caught = writer.abandon(after: error)
        }
        let error = try #require(caught, "writing to /dev/full succeeded")
        guard case .noSpace(let file, let device, let needed) = error else {
            Issue.record("expected .noSpace, got \(error)")
            return
        }
        #expect(file == destination)
        #expect(device == StorageError.mountPoint(of: folder.path))
        #expect(needed >= 1)
        // Closed for good: no half-closed file is left for HDF5 to trip over later.
        #expect(!writer.file.isOpen)
        #expect(error.description.hasPrefix("no space left on \(device) while writing \(destination): free "))
        #expect(error.description.hasSuffix(" MB and retry."))
        #expect(try folder.contents() == ["out.h5"])
        #expect(try String(contentsOfFile: destination, encoding: .utf8) == "previous contents")
        // HDF5 still works for other files in this process.
        let other = folder.file("other.h5")
        let next = try AtomicHDF5Writer(destination: other)
        try next.file.writeDataset("w", [Float](repeating: 3, count: 4), shape: [4])
        try next.commit()
        #expect(try HDF5File.openReadOnly(other).readDataset("w", as: Float.self) == [3, 3, 3, 3])
    }

    @Test("the mount point of a path is the top of its file system")
    func mountPoint() throws {
        #expect(StorageError.mountPoint(of: "/proc/self/status") == "/proc")
        #expect(StorageError.mountPoint(of: "/") == "/")
    }
}
