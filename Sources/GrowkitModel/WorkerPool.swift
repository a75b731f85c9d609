#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of threads that run one parallel job at a time.
///
/// ``Parallel/chunks(_:minimumChunk:_:)`` runs once per kernel, some twenty times per layer.
/// `DispatchQueue.concurrentPerform` allocates five small objects per call (closure contexts,
/// a block copy, a continuation; seen with `valgrind --tool=dhat`), and the forward pass promises
/// no allocation inside its per-layer loop, so the workers are our own: `width - 1` threads
/// started once, woken through one mutex and two condition variables, with the calling thread
/// running part 0 itself. A job's body is the caller's closure, stored for the duration of the
/// call (it does not escape; the caller waits for every part), and part `i` of `parts` covers
/// `range(part: i)` of `0 ..< count`, so no per-part closure is formed either. One allocation
/// per job is left: the 32-byte box of Swift's `withoutActuallyEscaping` check
/// (`tools/check_forward_allocations.sh` counts them).
///
/// One job at a time: a call made while another is running (from a second thread, say two test
/// cases at once, or from inside a job) runs serially on its caller instead of waiting.
final class WorkerPool: @unchecked Sendable {
    /// Threads including the caller.
    let width: Int

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var generation = 0
    private var busy = false
    private var parts = 0
    private var count = 0
    private var remaining = 0
    private var body: ((Range<Int>) -> Void)? = nil

    init(width: Int) {
        self.width = max(1, width)
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for worker in 1..<self.width {
            let start = WorkerStart(pool: self, worker: worker)
            var id = pthread_t()
            let context = Unmanaged.passRetained(start).toOpaque()
            if pthread_create(&id, nil, { context in
                Unmanaged<WorkerStart>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context) == 0 {
                pthread_detach(id)
            } else {
                Unmanaged<WorkerStart>.fromOpaque(context).release()
            }
        }
    }

    /// Part `part` of `0 ..< count` split into `parts` contiguous ranges whose sizes differ by at most one.
    static func range(part: Int, parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let start = part * base + min(part, extra)
        return start..<(start + base + (part < extra ? 1 : 0))
    }

    /// Calls `body` once for each of `parts` (at most ``width``) ranges covering `0 ..< count`,
    /// in parallel, and returns when all have finished.
    func run(parts requested: Int, count: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(requested, width)
        pthread_mutex_lock(mutex)
        if busy || parts <= 1 {
            pthread_mutex_unlock(mutex)
            for part in 0..<parts { body(Self.range(part: part, parts: parts, count: count)) }
            return
        }
        withoutActuallyEscaping(body) { body in
            busy = true
            self.body = body
            self.parts = parts
            self.count = count
            remaining = parts - 1
            generation &+= 1
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)

            body(Self.range(part: 0, parts: parts, count: count))

            pthread_mutex_lock(mutex)
            while remaining > 0 { pthread_cond_wait(done, mutex) }
            self.body = nil
            busy = false
            pthread_mutex_unlock(mutex)
        }
    }

    /// Worker `worker`'s loop: wait for a new generation, run its part if the job has one.
    fileprivate func serve(worker: Int) {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen { pthread_cond_wait(wake, mutex) }
            seen = generation
            guard worker < parts, let body else { continue }
            let range = Self.range(part: worker, parts: parts, count: count)
            pthread_mutex_unlock(mutex)
            body(range)
            pthread_mutex_lock(mutex)
            remaining -= 1
            if remaining == 0 { pthread_cond_signal(done) }
        }
    }

    /// What a worker thread starts with.
    private final class WorkerStart {
        let pool: WorkerPool
        let worker: Int
        init(pool: WorkerPool, worker: Int) {
            self.pool = pool
            self.worker = worker
        }
        func run() { pool.serve(worker: worker) }
    }
}
