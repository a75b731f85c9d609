import Foundation

/// A value computed on a thread of its own while the caller streams (the input's SHA-256
/// beside `grow`'s and `convert`'s writes). ``value()`` waits for it and may be called
/// again; callers also wait before exiting, so no thread is left inside a library's
/// shutdown.
public final class BackgroundResult<Value: Sendable, Failure: Error>: @unchecked Sendable {
    private var result: Result<Value, Failure>? = nil
    private let done = DispatchSemaphore(value: 0)

    public init(_ compute: @escaping @Sendable () -> Result<Value, Failure>) {
        Thread.detachNewThread { [self] in
            result = compute()
            done.signal()
        }
    }

    /// Waits for the value, or throws what the computation threw.
    public func value() throws(Failure) -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
