#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the storage layer.
///
/// Every case renders (`description`) as one sentence, without a newline, that
/// names the file, the object inside it (group, dataset or attribute path), what
/// is wrong and what to do, so the CLI can print it as is after `Error: `.
/// HDF5 failures are translated from HDF5's error stack into these cases; the
/// raw stack never reaches a terminal.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(file: String)
    /// The file exists but does not carry an HDF5 signature.
    case notHDF5(file: String)
    /// The file is truncated or its metadata is damaged.
    case damaged(file: String, object: String, reason: String)
    /// HDF5's fletcher32 checksum of a chunk did not match the stored bytes.
    case checksumMismatch(file: String, dataset: String)
    /// No group or dataset at this path.
    case missingObject(file: String, object: String)
    /// The object exists but has no attribute of this name.
    case missingAttribute(file: String, object: String, attribute: String)
    /// The stored type is not the one asked for.
    case wrongType(file: String, object: String, expected: String, found: String)
    /// A shape, element count or row range does not fit the dataset.
    case wrongShape(file: String, object: String, expected: String, found: String)
    /// Something already exists at a path that was to be created.
    case alreadyExists(file: String, object: String)
    /// A size from the file or from the caller is above what is safe to allocate.
    case tooLarge(file: String, object: String, reason: String)
    /// The caller passed an argument that cannot be honoured.
    case invalidArgument(file: String, object: String, reason: String)
    /// Any other HDF5 failure, with HDF5's innermost reason.
    case hdf5Failure(file: String, object: String, operation: String, reason: String)
    /// A POSIX call (fsync, rename, unlink, ...) failed.
    case ioFailure(file: String, operation: String, reason: String)
    /// The file system holding `file` is full (ENOSPC). `device` is its mount
    /// point; `neededMegabytes` how much more space the write needs, at least 1.
    case noSpace(file: String, device: String, neededMegabytes: Int)
    /// A link growkit does not follow (soft, external or user-defined), or one
    /// that leads nowhere. `link` says which kind and where it points.
    case link(file: String, object: String, link: String)
    /// The path is not a regular file (a FIFO, a device, a socket, a folder).
    case notRegularFile(file: String, kind: String)

    public var description: String {
        let text: String
        switch self {
        case .fileNotFound(let file):
            text = "\(file): file not found; check the path"
        case .notHDF5(let file):
            text = "\(file) is not an HDF5 file; pass an HDF5 file written by growkit or h5py"
        case .damaged(let file, let object, let reason):
            text = "\(file): cannot read \(object) because the file is truncated or damaged (\(reason)); restore it from a good copy"
        case .checksumMismatch(let file, let dataset):
            text = "\(file): checksum mismatch in dataset \(dataset): the file is corrupted; restore it from a good copy"
        case .missingObject(let file, let object):
            text = "\(file): no group or dataset \(object); check the path, or that the file was written by a compatible growkit"
        case .missingAttribute(let file, let object, let attribute):
            text = "\(file): \(object) has no attribute '\(attribute)'; the file is incomplete or from an incompatible writer"
        case .wrongType(let file, let object, let expected, let found):
            text = "\(file): \(object) holds \(found) where \(expected) was expected; rewrite it with the expected type"
        case .wrongShape(let file, let object, let expected, let found):
            text = "\(file): \(object) has \(found) where \(expected) was expected; fix the shape or the caller"
        case .alreadyExists(let file, let object):
            text = "\(file): \(object) already exists; write each object once or choose another name"
        case .tooLarge(let file, let object, let reason):
            text = "\(file): \(object) is too large (\(reason)); check that the file is the one intended"
        case .invalidArgument(let file, let object, let reason):
            text = "\(file): \(object): \(reason)"
        case .hdf5Failure(let file, let object, let operation, let reason):
            // A full disk is .noSpace and a link is .link, so what is left is the file itself.
            text = "\(file): could not \(operation) \(object) (HDF5: \(reason)); the file may be damaged: check it with h5dump -H or restore it from a good copy"
        case .ioFailure(let file, let operation, let reason):
            text = "\(file): \(operation) failed (\(reason)); check the folder's permissions and free space"
        case .noSpace(let file, let device, let needed):
            text = "no space left on \(device) while writing \(file): free \(max(1, needed)) MB and retry"
        case .link(let file, let object, let link):
            text = "\(file): \(object) is \(link); growkit reads only data stored in the checkpoint itself and reached through hard links (docs/FORMAT.md, section Links), so copy the data into this file (h5py or h5repack) and retry"
        case .notRegularFile(let file, let kind):
            text = "\(file) is \(kind), not a regular file; pass a regular file"
        }
        return StorageError.oneLine(text) + "."
    }

    /// The mount point of the file system holding `path` (its folder when the
    /// file does not exist yet): the longest prefix with the same device number.
    public static func mountPoint(of path: String) -> String {
        var current = path.hasPrefix("/") ? path : (currentFolder() + "/" + path)
        var status = stat()
        // Walk up to an existing object.
        while stat(current, &status) != 0 {
            guard let slash = current.lastIndex(of: "/"), current != "/" else { return "/" }
            current = slash == current.startIndex ? "/" : String(current[..<slash])
        }
        let device = status.st_dev
        while current != "/" {
            guard let slash = current.lastIndex(of: "/") else { break }
            let parent = slash == current.startIndex ? "/" : String(current[..<slash])
            var parentStatus = stat()
            if stat(parent, &parentStatus) != 0 || parentStatus.st_dev != device { break }
            current = parent
        }
        return current
    }

    /// Free bytes for an unprivileged writer on the file system holding `path`, or nil.
    public static func freeBytes(at path: String) -> Int? {
        var fs = statvfs()
        guard statvfs(mountPoint(of: path), &fs) == 0 else { return nil }
        let (product, overflow) = Int(clamping: fs.f_bavail).multipliedReportingOverflow(by: Int(clamping: fs.f_frsize))
        return overflow ? Int.max : product
    }

    private static func currentFolder() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return stringFromCBuffer(buffer)
    }

    /// Collapses newlines and runs of spaces so a description is one line.
    static func oneLine(_ text: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in text {
            let isSpace = ch == "\n" || ch == "\r" || ch == "\t" || ch == " "
            if isSpace {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(ch)
                lastWasSpace = false
            }
        }
        while out.last == "." || out.last == " " { out.removeLast() }
        return elideLongWords(out)
    }

    /// Shortens every run of more than 200 characters without a space (a huge
    /// string echoed from a hostile file) to its first 100 and a count, so a
    /// message stays one readable line whatever the file holds.
    public static func elideLongWords(_ text: String) -> String {
        guard text.utf8.count > 200 else { return text }
        return text.split(separator: " ", omittingEmptySubsequences: false).map { word in
            word.count > 200 ? word.prefix(100) + "...(\(word.count) characters)" : String(word)
        }.joined(separator: " ")
    }
}
