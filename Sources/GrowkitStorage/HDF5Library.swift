import CHDF5

/// One-time, thread-safe set-up of the HDF5 library for this process.
///
/// - opens the library (`H5open`),
/// - registers the zstd filter (id 32015, hdf5plugin's convention) in-process,
/// - switches off HDF5's automatic error printing, so no HDF5 error stack ever
///   reaches a terminal: failures are read from the stack and translated into
///   `StorageError` instead.
///
/// The linked HDF5 is built thread-safe, where the automatic-printing setting is
/// per thread; `ensure()` therefore repeats that (cheap) call on every entry.
enum HDF5Library {
    /// Swift initializes a static `let` exactly once, under a lock.
    private static let initialized: Bool = {
        // No library shutdown at process exit: after a failed write (a full disk)
        // HDF5 1.10 cannot close the file, and its exit handler then walks the
        // half-closed file and crashes (SIGSEGV in H5F__close_cb). Every file
        // growkit writes is committed or abandoned explicitly, and readers write
        // nothing, so the kernel reclaiming the process loses nothing.
        _ = H5dont_atexit()
        _ = H5open()
        _ = H5Eset_auto2(growkit_H5E_DEFAULT(), nil, nil)
        ZstdFilter.register()
        return true
    }()

    /// Call before any HDF5 call.
    static func ensure() {
        _ = initialized
        _ = H5Eset_auto2(growkit_H5E_DEFAULT(), nil, nil)
    }
}

/// The current HDF5 error stack, read and cleared.
struct HDF5ErrorStack {
    /// One entry per stack frame, innermost first.
    var entries: [(description: String, major: String, minor: String)] = []

    /// Copies the calling thread's error stack, clears it, and reads the copy.
    ///
    /// The copy matters: every HDF5 API call (`H5Eget_msg` included) clears the
    /// live stack on entry, so the live stack cannot be read while walking it.
    static func drain() -> HDF5ErrorStack {
        let stack = H5Eget_current_stack()
        guard stack >= 0 else { return HDF5ErrorStack() }
        defer { _ = H5Eclose_stack(stack) }
        final class Collector {
            var raw: [(description: String, major: hid_t, minor: hid_t)] = []
        }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        _ = H5Ewalk2(stack, H5E_WALK_UPWARD, { _, error, context in
            guard let error, let context else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let text = error.pointee.desc.map { String(cString: $0) } ?? ""
            collector.raw.append((text, error.pointee.maj_num, error.pointee.min_num))
            return 0
        }, context)
        var result = HDF5ErrorStack()
        for entry in collector.raw {
            result.entries.append((entry.description, message(entry.major), message(entry.minor)))
        }
        return result
    }

    private static func message(_ id: hid_t) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var type = H5E_MAJOR
        let n = H5Eget_msg(id, &type, &buffer, buffer.count)
        guard n > 0 else { return "" }
        return stringFromCBuffer(buffer)
    }

    /// All descriptions, lower-cased, for classification. (Major and minor
    /// messages are too generic: a failed link creation reports "Object not
    /// found" for its own path traversal, for instance.)
    var searchableText: String {
        entries.map(\.description).joined(separator: " || ").lowercased()
    }

    /// The innermost description: the most specific reason HDF5 gives.
    var innermostReason: String {
        let reason = entries.first(where: { !$0.description.isEmpty })?.description ?? "unknown HDF5 error"
        return StorageError.oneLine(reason)
    }

    /// Translates this stack into a `StorageError` for `object` in `file`.
    func storageError(file: String, object: String, operation: String) -> StorageError {
        let text = searchableText
        // A full disk: HDF5 reports the write's errno in the description.
        if text.contains("errno = 28") || text.contains("no space left on device") {
            return .noSpace(file: file, device: StorageError.mountPoint(of: file), neededMegabytes: 1)
        }
        if text.contains("fletcher32") {
            return .checksumMismatch(file: file, dataset: object)
        }
        if text.contains("truncated") {
            return .damaged(file: file, object: object, reason: "the file is truncated")
        }
        if text.contains("file signature") {
            return .notHDF5(file: file)
        }
        if text.contains("doesn't exist") || text.contains("does not exist") {
            return .missingObject(file: file, object: object)
        }
        if text.contains("checksum") || text.contains("bad object header") || text.contains("corrupt")
            || text.contains("addr overflow") || text.contains("address overflow") || text.contains("bad version")
            || text.contains("wrong b-tree signature") || text.contains("bad heap") || text.contains("signature")
        {
            return .damaged(file: file, object: object, reason: innermostReason)
        }
        return .hdf5Failure(file: file, object: object, operation: operation, reason: innermostReason)
    }
}

/// Where an HDF5 call happens, for error messages.
struct Site {
    var file: String
    var object: String

    /// Throws the translated HDF5 error stack when `value` is negative (HDF5's
    /// failure convention for `hid_t`, `herr_t` and `htri_t`); returns `value` otherwise.
    @discardableResult
    func check<T: BinaryInteger>(_ value: T, _ operation: @autoclosure () -> String) throws(StorageError) -> T {
        if value >= 0 { return value }
        throw HDF5ErrorStack.drain().storageError(file: file, object: object, operation: operation())
    }

    /// The translated current error stack.
    func error(_ operation: String) -> StorageError {
        HDF5ErrorStack.drain().storageError(file: file, object: object, operation: operation)
    }
}

/// Joins an HDF5 object path and a relative name.
func joinPath(_ parent: String, _ name: String) -> String {
    if name.hasPrefix("/") { return name }
    if parent == "/" || parent.isEmpty { return "/" + name }
    return parent + "/" + name
}

/// A Swift string from a NUL-terminated C buffer (up to the first NUL).
func stringFromCBuffer(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
