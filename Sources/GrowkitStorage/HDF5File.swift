import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open HDF5 file; it is also its root group (`objectPath == "/"`).
///
/// Files are opened with HDF5's *strong* close degree: `close()` closes every
/// object still open in the file, so after it returns the bytes are on their way
/// to disk and nothing holds the file.
public final class HDF5File: HDF5Group {
    /// Whether the file was opened for writing.
    public let isWritable: Bool
    /// The POSIX descriptor under HDF5's sec2 driver, for vectored chunk reads
    /// (`preadv`) on read-only files; nil when unavailable.
    private(set) var readDescriptor: Int32? = nil
    /// Threads that read and verify runs of uncompressed chunks side by side in
    /// one dataset read of 8 MiB or more, or in any read that overlaps other
    /// work (`HDF5Dataset.read(into:overlapping:)`; default: the online cores,
    /// at most 4; values below 1 count as 1). Every chunk's fletcher32 is verified before a
    /// read returns whatever the count. Set 1 to keep reads on the calling
    /// thread, e.g. when the other cores are busy with work that matters more.
    public var readThreads: Int = ChunkRunTuning.workers
    /// Absolute paths already found to be hard links (``HDF5Group/requireHardLinks(_:)``),
    /// so each group of a deep tree is checked once, not once per dataset below it.
    var hardLinkPaths: Set<String> = []

    private init(rawID: hid_t, path: String, writable: Bool) {
        self.isWritable = writable
        super.init(rawID: rawID, filePath: path, objectPath: "/", parent: nil)
    }

    /// Whether `path` is an existing HDF5 file (by its signature).
    public static func isHDF5(_ path: String) -> Bool {
        HDF5Library.ensure()
        let result = path.withCString { H5Fis_hdf5($0) }
        if result < 0 { _ = H5Eclear2(growkit_H5E_DEFAULT()) }
        return result > 0
    }

    /// Opens an existing file read-only.
    ///
    /// Checks, in order: the file exists (`.fileNotFound`), it carries the HDF5
    /// signature (`.notHDF5`), HDF5 can open it (`.damaged` for a truncated or
    /// damaged file).
    public static func openReadOnly(_ path: String) throws(StorageError) -> HDF5File {
        HDF5Library.ensure()
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .fileNotFound(file: path) }
            throw .ioFailure(file: path, operation: "stat", reason: String(cString: strerror(errno)))
        }
        // Only regular files: a FIFO would block H5Fis_hdf5 forever, a device could
        // be read without end, a folder is not a file.
        if let kind = fileKind(status.st_mode) { throw .notRegularFile(file: path, kind: kind) }
        let site = Site(file: path, object: "/")
        CrashGuard.reading(path)
        let isHDF5 = path.withCString { H5Fis_hdf5($0) }
        if isHDF5 == 0 { throw .notHDF5(file: path) }
        if isHDF5 < 0 {
            let error = site.error("open")
            if case .hdf5Failure = error { throw .notHDF5(file: path) }
            throw error
        }
        let fapl = try makeFileAccessList(site)
        defer { H5Pclose(fapl) }
        let id = path.withCString { H5Fopen($0, growkit_H5F_ACC_RDONLY(), fapl) }
        if id < 0 {
            var error = site.error("open")
            if case .hdf5Failure(_, _, _, let reason) = error {
                error = .damaged(file: path, object: "/", reason: reason)
            }
            throw error
        }
        let file = HDF5File(rawID: id, path: path, writable: false)
        var handle: UnsafeMutableRawPointer? = nil
        if H5Fget_vfd_handle(id, fapl, &handle) >= 0, let handle {
            file.readDescriptor = handle.load(as: Int32.self)
        } else {
            _ = H5Eclear2(growkit_H5E_DEFAULT())
        }
        return file
    }

    /// nil for a regular file, else what the file is ("a folder", "a FIFO (named pipe)", ...).
    public static func fileKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }

    /// Creates a new file for writing. Fails with `.alreadyExists` when a file is
    /// already at `path`, unless `overwrite` is true. Prefer `AtomicHDF5Writer`
    /// for outputs: it never leaves a half-written file under the final name.
    public static func create(_ path: String, overwrite: Bool = false) throws(StorageError) -> HDF5File {
        HDF5Library.ensure()
        let site = Site(file: path, object: "/")
        let fapl = try makeFileAccessList(site)
        defer { H5Pclose(fapl) }
        if !overwrite && access(path, F_OK) == 0 { throw .alreadyExists(file: path, object: "the file") }
        let flags = overwrite ? growkit_H5F_ACC_TRUNC() : growkit_H5F_ACC_EXCL()
        let id = path.withCString { H5Fcreate($0, flags, growkit_H5P_DEFAULT(), fapl) }
        if id < 0 {
            let reason = String(cString: strerror(errno))
            let error = site.error("create")
            if case .hdf5Failure = error {
                throw .ioFailure(file: path, operation: "creating the HDF5 file", reason: reason)
            }
            throw error
        }
        return HDF5File(rawID: id, path: path, writable: true)
    }

    private static func makeFileAccessList(_ site: Site) throws(StorageError) -> hid_t {
        let fapl = try site.check(H5Pcreate(growkit_H5P_FILE_ACCESS()), "create a file access list for")
        if H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 {
            H5Pclose(fapl)
            throw site.error("set up the file access of")
        }
        return fapl
    }

    /// Flushes HDF5's buffers for this file to the operating system.
    public func flush() throws(StorageError) {
        HDF5Library.ensure()
        let id = try openID()
        try site.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "flush")
    }

    /// Closes the file and every object still open in it. Idempotent.
    public func close() throws(StorageError) {
        HDF5Library.ensure()
        guard isOpen else { return }
        let status = closeID()
        if status < 0 {
            throw .hdf5Failure(file: filePath, object: "/", operation: "close", reason: "HDF5 could not write its metadata")
        }
    }
}
