import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an HDF5 file so that it appears under its final name whole or not at all.
///
/// The file is created as `.<name>.tmp-<pid>-<random>` in the destination folder
/// (same file system, so the rename is atomic). `commit()` flushes and closes the
/// HDF5 file, fsyncs it, renames it onto the final name and fsyncs the folder, so
/// after a crash the final name holds either the old content or the whole new
/// file. A writer that is abandoned (`abandon()`, an error, or `deinit` without
/// `commit()`) removes its temporary file and leaves the final name untouched.
///
/// The only file ever opened for writing is the temporary one.
public final class AtomicHDF5Writer {
    /// The final path.
    public let destination: String
    /// The temporary path written until `commit()`.
    public let temporaryPath: String
    /// The file being written; write groups, datasets and attributes through it.
    public let file: HDF5File
    /// The caller's estimate of the final file's size in bytes (0: unknown), so
    /// that a full disk can be answered with how much space to free.
    public var expectedBytes: Int = 0
    private var finished = false

    /// Creates the temporary file next to `destination`.
    /// - Parameter overwrite: whether `commit()` may replace an existing file at
    ///   `destination` (checked here, before any work, and again at commit).
    public init(destination: String, overwrite: Bool = false) throws(StorageError) {
        self.destination = destination
        self.overwrite = overwrite
        if !overwrite && access(destination, F_OK) == 0 {
            throw .alreadyExists(file: destination, object: "the output file")
        }
        let (folder, name) = AtomicHDF5Writer.split(destination)
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() & 0xFFFF_FFFF, radix: 16)
        let temporaryPath = (folder == "" ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(suffix)"
        self.temporaryPath = temporaryPath
        do {
            self.file = try HDF5File.create(temporaryPath)
        } catch {
            unlink(temporaryPath)
            throw AtomicHDF5Writer.renamed(error, temporaryPath: temporaryPath, destination: destination, expectedBytes: 0)
        }
    }

    private let overwrite: Bool

    deinit {
        if !finished { abandon() }
    }

    /// Flushes, closes and fsyncs the file, renames it onto `destination`, fsyncs the folder.
    /// On failure the temporary file is removed and the error thrown.
    public func commit() throws(StorageError) {
        guard !finished else {
            throw .invalidArgument(file: destination, object: "the output file", reason: "commit() called twice or after abandon()")
        }
        do throws(StorageError) {
            try file.flush()
            try file.close()
            try AtomicHDF5Writer.fsyncPath(temporaryPath, directory: false)
            if !overwrite && access(destination, F_OK) == 0 {
                throw .alreadyExists(file: destination, object: "the output file")
            }
            if rename(temporaryPath, destination) != 0 {
                throw .ioFailure(file: destination, operation: "renaming \(temporaryPath) onto it", reason: String(cString: strerror(errno)))
            }
            finished = true
            try AtomicHDF5Writer.fsyncPath(AtomicHDF5Writer.split(destination).folder, directory: true)
        } catch {
            if !finished { throw abandon(after: error) }
            throw error
        }
    }

    /// Starts writing what HDF5 has written so far to the disk, without waiting for it, so
    /// that the fsync in ``commit()`` has less left to do. Best effort: no error is reported.
    /// Only the bytes past the previous call's end are asked for, so each call costs what was
    /// written since, not the whole file's pages again.
    public func startWriteback() {
        guard !finished, file.isOpen else { return }
        var handle: UnsafeMutableRawPointer? = nil
        guard H5Fget_vfd_handle(file.rawID, growkit_H5P_DEFAULT(), &handle) >= 0, let handle else { return }
        let descriptor = handle.load(as: Int32.self)
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int(info.st_size) > writebackEnd else { return }
        _ = growkit_start_writeback(descriptor, Int64(writebackEnd), Int64(Int(info.st_size) - writebackEnd))
        writebackEnd = Int(info.st_size)
    }

    /// Where the last ``startWriteback()`` range ended.
    private var writebackEnd = 0

    /// Closes and deletes the temporary file; the destination is untouched. Idempotent.
    public func abandon() {
        guard !finished else { return }
        finished = true
        // The file is thrown away, but HDF5 flushes its caches when closing it, and
        // after a failed write (a full disk) that flush fails again: HDF5 1.10 then
        // keeps a half-closed file that crashes the process later (SIGSEGV in
        // H5F__close_cb). So the temporary file is swapped, under HDF5's own
        // descriptor, for an anonymous in-memory file: the closing flush succeeds
        // there and costs only the metadata still cached.
        if file.isOpen {
            var handle: UnsafeMutableRawPointer? = nil
            if H5Fget_vfd_handle(file.rawID, growkit_H5P_DEFAULT(), &handle) >= 0, let handle {
                let descriptor = handle.load(as: Int32.self)
                let scratch = growkit_memfd_create("growkit-abandoned")
                if scratch >= 0 {
                    _ = dup2(scratch, descriptor)
                    close(scratch)
                }
            } else {
                _ = H5Eclear2(growkit_H5E_DEFAULT())
            }
        }
        do {
            try file.close()
        } catch {
            // Nothing to report: the file is being thrown away; the unlink below
            // frees its space whether or not HDF5 managed to close it.
        }
        unlink(temporaryPath)
    }

    /// Abandons the file after `error` (``abandon()``) and returns the error to
    /// report: a full disk becomes one `.noSpace` naming the destination, its
    /// mount point and how many MB to free (measured after the temporary file is
    /// gone); other errors are returned as they are.
    public func abandon(after error: StorageError) -> StorageError {
        var written = 0
        var status = stat()
        if stat(temporaryPath, &status) == 0 { written = Int(status.st_size) }
        abandon()
        return AtomicHDF5Writer.renamed(error, temporaryPath: temporaryPath, destination: destination,
                                        expectedBytes: max(expectedBytes, written))
    }

    /// A full-disk error about the temporary file restated for the destination.
    static func renamed(_ error: StorageError, temporaryPath: String, destination: String, expectedBytes: Int) -> StorageError {
        let isFull: Bool
        switch error {
        case .noSpace: isFull = true
        case .ioFailure(_, _, let reason): isFull = reason == String(cString: strerror(ENOSPC))
        case .hdf5Failure(_, _, _, let reason): isFull = reason.lowercased().contains("no space left on device")
        default: isFull = false
        }
        guard isFull else { return error }
        // Ask for what the whole file needs (plus 1 MB of HDF5 metadata) beyond
        // what is free now; at least 1 MB, since the last write did not fit.
        let free = StorageError.freeBytes(at: destination) ?? 0
        let missing = expectedBytes.addingReportingOverflow(1 << 20).overflow ? Int.max : expectedBytes + (1 << 20) - free
        let megabytes = missing <= 0 ? 1 : (missing + 999_999) / 1_000_000
        return .noSpace(file: destination, device: StorageError.mountPoint(of: destination), neededMegabytes: megabytes)
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    static func fsyncPath(_ path: String, directory: Bool) throws(StorageError) {
        let target = path.isEmpty ? "." : path
        let fd = open(target, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY)
        guard fd >= 0 else {
            throw .ioFailure(file: target, operation: "opening for fsync", reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        if fsync(fd) != 0 {
            throw .ioFailure(file: target, operation: "fsync", reason: String(cString: strerror(errno)))
        }
    }
}
