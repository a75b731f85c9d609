import COpenSSL
import GrowkitState
import GrowkitStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SHA256 {
    /// Lowercase hex digest of a file's bytes, read in 4 MiB blocks and hashed by libcrypto
    /// (SHA-NI where the CPU has it: the input of a multi-GB `grow` is hashed in about a
    /// second instead of several). The in-memory ``SHA256`` gives the same digest.
    /// Only a regular file: a FIFO is refused instead of waited on (O_NONBLOCK open).
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
        guard let context = EVP_MD_CTX_new() else {
            throw .storage(.ioFailure(file: path, operation: "computing its SHA-256", reason: "libcrypto could not allocate a digest context"))
        }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            throw .storage(.ioFailure(file: path, operation: "computing its SHA-256", reason: "libcrypto has no SHA-256"))
        }
        let block = UnsafeMutableRawPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { block.deallocate() }
        while true {
            let count = read(fd, block, 4 << 20)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw .storage(.ioFailure(file: path, operation: "reading to compute its SHA-256", reason: String(cString: strerror(errno))))
            }
            if count == 0 { break }
            EVP_DigestUpdate(context, block, count)
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        let digits = Array("0123456789abcdef")
        return String(digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
