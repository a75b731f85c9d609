#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A file opened read-only, read at explicit offsets with `pread` (no shared
/// file position, so concurrent readers are safe). The size is taken once at
/// open; a file that shrinks afterwards gives a clear error on the short read,
/// never a crash (which is why this does not `mmap`: a truncated mapping traps
/// with SIGBUS).
final class ReadOnlyFile: @unchecked Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws(DataError) {
        // O_NONBLOCK: opening a FIFO read-only would otherwise wait for a writer
        // forever; it is refused below as not a regular file. (On a regular file
        // the flag has no effect on reads.)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .unreadable(path: path, reason: (info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file")
        }
        self.path = path
        self.size = Int(info.st_size)
        self.descriptor = fd
    }

    deinit { close(descriptor) }

    /// Fills `buffer` with the bytes at `offset ..< offset + buffer.count`.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(DataError) {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                throw .unreadable(path: path, reason: "it ended at byte \(offset + done), before the \(size) bytes it had when opened")
            }
            done += n
        }
    }

    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    func readBytes(at offset: Int, count: Int) throws(DataError) -> [UInt8] {
        let n = max(0, min(count, size - offset))
        var bytes = [UInt8](repeating: 0, count: n)
        if n == 0 { return bytes }
        let result: Result<Void, DataError> = bytes.withUnsafeMutableBytes { raw in
            do throws(DataError) { try read(at: offset, into: raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
        return bytes
    }
}
