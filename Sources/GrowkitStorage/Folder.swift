#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output folders, made with POSIX calls so that every failure is one
/// `StorageError` sentence (Foundation's `createDirectory` throws an
/// `NSCocoaErrorDomain` error whose description is a multi-line dump).
public enum Folder {
    /// Makes `path` and any missing parents (`mkdir -p`); succeeds when the
    /// folder exists already. Refuses a path where something other than a
    /// folder is in the way.
    public static func make(_ path: String) throws(StorageError) {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            var status = stat()
            if stat(prefix, &status) == 0 {
                guard (status.st_mode & S_IFMT) == S_IFDIR else {
                    throw .ioFailure(file: prefix, operation: "creating the folder \(path)",
                                     reason: "a file is in its place; remove it or choose another folder")
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                if errno == ENOSPC {
                    throw .noSpace(file: prefix, device: StorageError.mountPoint(of: prefix), neededMegabytes: 1)
                }
                throw .ioFailure(file: prefix, operation: "creating the folder \(path)", reason: reason)
            }
        }
    }
}
