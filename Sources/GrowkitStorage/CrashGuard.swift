#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Last line of defence for the command-line tool against libhdf5 1.10 crashing
/// on damaged metadata. HDF5 1.10 trusts sizes stored in the file in a few
/// places (the global heap that holds variable-length strings, for one): a
/// flipped byte there makes it copy past its buffer and the process dies with
/// SIGSEGV before any HDF5 error is raised, so no check of ours can run first.
/// With the guard installed, SIGSEGV and SIGBUS print one sentence naming the
/// last file opened for reading and exit 1 instead. Only the executable installs
/// it (tests keep the default crash reports); a genuine bug of ours would show
/// as the same sentence, which is why the sentence says what was being read.
public enum CrashGuard {
    /// "Error: FILE: ...\n" for the file being read, written by the handler with `write(2)`.
    nonisolated(unsafe) private static var message = UnsafeMutablePointer<CChar>.allocate(capacity: 4096)
    nonisolated(unsafe) private static var length = 0
    nonisolated(unsafe) private static var installed = false

    /// Installs the handlers (on an alternate stack, so a stack overflow is caught too).
    public static func install() {
        guard !installed else { return }
        installed = true
        setMessage("Error: growkit crashed (signal) outside any file read; this is a bug in growkit, please report it.\n")
        let stackSize = 1 << 16
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: stackSize, alignment: 16)
        stack.ss_size = stackSize
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            // Only async-signal-safe calls: write and _exit.
            _ = write(2, CrashGuard.message, CrashGuard.length)
            _exit(1)
        }
        action.sa_flags = Int32(SA_ONSTACK)
        sigemptyset(&action.sa_mask)
        sigaction(SIGSEGV, &action, nil)
        sigaction(SIGBUS, &action, nil)
    }

    /// Called when a file is opened for reading: a crash from here on names it.
    static func reading(_ path: String) {
        guard installed else { return }
        setMessage("Error: \(StorageError.elideLongWords(path)): the HDF5 library crashed while reading this file, so its metadata is damaged; restore it from a good copy.\n")
    }

    private static func setMessage(_ text: String) {
        let bytes = Array(text.utf8.prefix(4000))
        // Length first to 0 so a signal in between writes nothing half-updated.
        length = 0
        for (i, byte) in bytes.enumerated() { message[i] = CChar(bitPattern: byte) }
        length = bytes.count
    }
}
