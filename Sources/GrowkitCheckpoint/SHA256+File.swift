#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GrowkitState
import GrowkitStorage

extension SHA256 {
    /// Lowercase hex digest of a file's bytes, read in 1 MiB blocks. Only a
    /// regular file: a FIFO is refused instead of waited on (O_NONBLOCK open).
    public static func hex(ofFile path: String) throws(StateError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .storage(.fileNotFound(file: path)) }
            throw .storage(.ioFailure(file: path, operation: "opening to compute its SHA-256", reason: String(cString: strerror(errno))))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw .storage(.ioFailure(file: path, operation: "reading to compute its SHA-256", reason: String(cString: strerror(errno))))
        }
        if let kind = HDF5File.fileKind(status.st_mode) { throw .storage(.notRegularFile(file: path, kind: kind)) }
        var hasher = SHA256()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .storage(.ioFailure(file: path, operation: "reading to compute its SHA-256", reason: String(cString: strerror(errno))))
            }
            if n == 0 { break }
            hasher.update(block[0..<n])
        }
        let digits = Array("0123456789abcdef")
        return String(hasher.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
