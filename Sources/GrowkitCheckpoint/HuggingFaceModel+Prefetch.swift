import Foundation
import GrowkitState

extension HuggingFaceModel {
    /// Like ``forEachParameter(_:)``, but a second thread reads and maps the next parameters
    /// (at most `depth` ahead) while `body` runs on the calling thread: the safetensors reads
    /// and GPT-2's transposes overlap the caller's writes. At most `depth + 1` tensors (plus the
    /// fused `c_attn` being split) are alive. `body` stays on the calling thread, so it may use
    /// HDF5. An error on either side stops both; the first one is thrown.
    public func forEachParameterPrefetching(
        depth: Int = 2, _ body: (ParameterSpec, Tensor) throws(HuggingFaceError) -> Void
    ) throws(HuggingFaceError) {
        let pipe = ParameterPipe(capacity: max(1, depth))
        let model = UncheckedBox(self)
        let producer = Thread {
            do throws(HuggingFaceError) {
                try model.value.forEachParameter { (spec, tensor) throws(HuggingFaceError) in
                    guard pipe.put((spec, tensor)) else { throw .invalidPath(path: model.value.path, problem: "cancelled") }
                }
                pipe.finish(nil)
            } catch {
                pipe.finish(error)
            }
        }
        producer.stackSize = 1 << 20
        producer.start()
        defer { pipe.cancelAndWait() }
        while let (spec, tensor) = pipe.take() {
            try body(spec, tensor)
        }
        if let failure = pipe.failure { throw failure }
    }
}

/// A value handed to another thread whose use is serialized by the caller.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A bounded queue of parameters from one producer thread to one consumer.
private final class ParameterPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(ParameterSpec, Tensor)] = []
    private var finished = false
    private var cancelled = false
    private let capacity: Int
    private(set) var failure: HuggingFaceError?

    init(capacity: Int) { self.capacity = capacity }

    /// Blocks while full; false when the consumer cancelled.
    func put(_ item: (ParameterSpec, Tensor)) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, or nil once the producer finished (or failed) and the queue is empty.
    func take() -> (ParameterSpec, Tensor)? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if items.isEmpty || failure != nil { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func finish(_ error: HuggingFaceError?) {
        condition.lock()
        if !cancelled { failure = error }
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the producer (if still running) and waits until it has finished.
    func cancelAndWait() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
