import Foundation
import GrowkitState

extension SHA256 {
    /// Lowercase hex digest of a file's bytes, read in 1 MiB blocks.
    public static func hex(ofFile path: String) throws(StateError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileManager.default.fileExists(atPath: path)
                ? .storage(.ioFailure(file: path, operation: "opening to compute its SHA-256", reason: "permission denied or unreadable"))
                : .storage(.fileNotFound(file: path))
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let block: Data?
            do {
                block = try handle.read(upToCount: 1 << 20)
            } catch {
                throw .storage(.ioFailure(file: path, operation: "reading to compute its SHA-256", reason: "\(error)"))
            }
            guard let block, !block.isEmpty else { break }
            hasher.update(block)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
