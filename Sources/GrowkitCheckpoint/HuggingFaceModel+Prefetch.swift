import Foundation
import GrowkitState

extension HuggingFaceModel {
    /// Like ``forEachParameter(_:)``, but a second thread reads and maps the next parameters
    /// (at most `depth` ahead) while `body` runs on the calling thread: the safetensors reads
    /// and GPT-2's transposes overlap the caller's writes. At most `depth + 1` tensors (plus the
    /// fused `c_attn` being split) are alive. `body` stays on the calling thread, so it may use
    /// HDF5. An error on either side stops both; the first one is thrown.
    ///
    /// The arrays `body` has finished with go back to the reading thread, which fills a later
    /// parameter of the same element count into one instead of a new allocation (GPT-2 and
    /// Llama repeat a handful of shapes per layer). Spare arrays are kept only while a later
    /// parameter has their count and up to the bytes of the largest parameter in all, so memory
    /// stays within twice the largest parameter plus the tensors in flight. If `body` kept a
    /// tensor, the array is shared and copy-on-write gives the reader a new one, so a kept
    /// tensor never changes.
    public func forEachParameterPrefetching(
        depth: Int = 2, _ body: (ParameterSpec, Tensor) throws(HuggingFaceError) -> Void
    ) throws(HuggingFaceError) {
        let pipe = ParameterPipe(capacity: max(1, depth), counts: specs.map(\.elementCount))
        let model = UncheckedBox(self)
        let producer = Thread {
            do throws(HuggingFaceError) {
                var buffers = ReadBuffers(recycled: pipe.spare(count:))
                try model.value.forEachParameter(buffers: &buffers) { (spec, tensor) throws(HuggingFaceError) in
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
            pipe.giveBack((consume tensor).data)  // no reference left here, so the reader can write in place
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
    /// The index of the last item of each element count.
    private let lastItem: [Int: Int]
    /// The most elements spare arrays hold together: the largest item's.
    private let spareBudget: Int
    /// Items handed to the consumer so far.
    private var taken = 0
    /// Arrays the consumer has finished with, oldest first.
    private var spares: [[Float]] = []
    private var spareElements = 0
    private(set) var failure: HuggingFaceError?

    /// `counts`: the element count of each item, in order.
    init(capacity: Int, counts: [Int]) {
        self.capacity = capacity
        var lastItem: [Int: Int] = [:]
        for (index, count) in counts.enumerated() { lastItem[count] = index }
        self.lastItem = lastItem
        spareBudget = counts.max() ?? 0
    }

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
        taken += 1
        condition.broadcast()
        return item
    }

    /// Keeps `array`, the last item taken, for ``spare(count:)`` if a later item has its count,
    /// dropping the oldest spares beyond the budget.
    func giveBack(_ array: [Float]) {
        condition.lock()
        defer { condition.unlock() }
        guard let last = lastItem[array.count], last >= taken else { return }
        spares.append(array)
        spareElements += array.count
        while spareElements > spareBudget {
            spareElements -= spares.removeFirst().count
        }
    }

    /// A spare array of exactly `count` elements, or nil.
    func spare(count: Int) -> [Float]? {
        condition.lock()
        defer { condition.unlock() }
        guard let index = spares.firstIndex(where: { $0.count == count }) else { return nil }
        spareElements -= count
        return spares.remove(at: index)
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
        spares.removeAll()
        spareElements = 0
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
