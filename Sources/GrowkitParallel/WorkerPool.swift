#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of threads that run one parallel job at a time.
///
/// GrowkitModel's `Parallel.chunks` runs one job per kernel, some ten times per layer, and the
/// forward pass promises no allocation inside its per-layer loop; GrowkitStorage's checked reads
/// run one per tensor read of a few MiB or more, hundreds per checkpoint.
/// `DispatchQueue.concurrentPerform` allocates five small objects per call (closure contexts,
/// a block copy, a continuation; seen with `valgrind --tool=dhat`), so the workers are our own:
/// `width - 1` threads started once, woken through one mutex and two condition variables. Part `i`
/// of `parts` covers `range(part: i)` of `0 ..< count`, so no per-part closure is formed. The
/// calling thread and the workers claim parts in order until none is left, so nobody waits for a
/// thread that has not woken up yet: with parts of a millisecond or less, a wake-up (tens of
/// microseconds on a busy VM) is otherwise paid on every job.
///
/// A job is a body that captures nothing plus its arguments, which stay on the caller's stack
/// (the caller waits for every part): the pool keeps a pointer to them and the context-free body in
/// a ``WorkerJob`` existential, whose three words fit its inline buffer. A capturing closure would
/// need its context boxed on the heap, and a non-escaping one stored through
/// `withoutActuallyEscaping` costs a 32-byte box per call; this layout costs nothing
/// (GrowkitModelTests' `ForwardAllocationTests` counts heap calls per forward pass).
///
/// One job at a time: a call made while another is running (from a second thread, say two test
/// cases at once, or from inside a job) runs serially on its caller instead of waiting.
public final class WorkerPool: @unchecked Sendable {
    /// Threads including the caller.
    public let width: Int

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var generation = 0
    private var busy = false
    private var parts = 0
    private var count = 0
    /// The next part nobody has claimed yet.
    private var nextPart = 0
    /// Parts claimed by workers and not finished.
    private var running = 0
    private var job: (any WorkerJob)? = nil

    /// Starts `width - 1` threads (the caller is the last worker); they live as long as the process.
    public init(width: Int) {
        self.width = max(1, width)
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for _ in 1..<self.width {
            let start = WorkerStart(pool: self)
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
    public static func range(part: Int, parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let start = part * base + min(part, extra)
        return start..<(start + base + (part < extra ? 1 : 0))
    }

    /// Calls `body(arguments, range)` once for each of `parts` (at most ``width``) ranges covering
    /// `0 ..< count`, in parallel, and returns when all have finished. `body` must capture nothing
    /// (pass what it reads in `arguments`), or each call allocates its context.
    ///
    /// Inlinable so that it is specialized in the calling module: unspecialized, the body would be
    /// reabstracted through a heap-allocated thunk on every call.
    @inlinable
    public func run<Arguments>(
        parts: Int, count: Int, sharing arguments: Arguments, _ body: @escaping (Arguments, Range<Int>) -> Void
    ) {
        withUnsafePointer(to: arguments) { arguments in
            run(parts: parts, count: count, job: SharedArgumentsJob(arguments: arguments, body: body))
        }
    }

    /// Like ``run(parts:count:sharing:_:)``, but the calling thread first runs `callerWork` (say,
    /// preparing the next job) while the workers start on the parts, then claims what is left.
    /// Parts that take their work from a shared queue (each claiming the next item until none is
    /// left) keep every thread busy however long `callerWork` takes. Every part has finished when
    /// this returns, also when `callerWork` throws (its error is rethrown then).
    @inlinable
    public func run<Arguments, Failure: Error>(
        parts: Int, count: Int, sharing arguments: Arguments, _ body: @escaping (Arguments, Range<Int>) -> Void,
        whileCallerRuns callerWork: () throws(Failure) -> Void
    ) throws(Failure) {
        var failure: Failure? = nil
        withUnsafePointer(to: arguments) { arguments in
            run(parts: parts, count: count, job: SharedArgumentsJob(arguments: arguments, body: body)) {
                do throws(Failure) { try callerWork() } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// ``run(parts:count:sharing:_:)`` once the job is built: publishes it to the workers, runs
    /// `callerFirst`, claims parts here too until none is left, waits for the workers' parts.
    @usableFromInline
    func run(parts requested: Int, count: Int, job: any WorkerJob, callerFirst: () -> Void = {}) {
        let parts = min(requested, width)
        pthread_mutex_lock(mutex)
        if busy || parts <= 1 {
            pthread_mutex_unlock(mutex)
            callerFirst()
            for part in 0..<parts { job.run(Self.range(part: part, parts: parts, count: count)) }
            return
        }
        busy = true
        self.job = job
        self.parts = parts
        self.count = count
        nextPart = 0
        running = 0
        generation &+= 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)

        callerFirst()
        // Claim parts like any worker: a worker that is slow to wake (or a caller busy with
        // `callerFirst`) leaves its parts to the others instead of being waited for.
        pthread_mutex_lock(mutex)
        while nextPart < parts {
            let part = nextPart
            nextPart += 1
            pthread_mutex_unlock(mutex)
            job.run(Self.range(part: part, parts: parts, count: count))
            pthread_mutex_lock(mutex)
        }
        while running > 0 { pthread_cond_wait(done, mutex) }
        self.job = nil
        busy = false
        pthread_mutex_unlock(mutex)
    }

    /// A worker's loop: wait for a new generation, then claim parts of the job until none is left.
    fileprivate func serve() {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen { pthread_cond_wait(wake, mutex) }
            seen = generation
            while nextPart < parts, let job {
                let range = Self.range(part: nextPart, parts: parts, count: count)
                nextPart += 1
                running += 1
                pthread_mutex_unlock(mutex)
                job.run(range)
                pthread_mutex_lock(mutex)
                running -= 1
                if running == 0 { pthread_cond_signal(done) }
            }
        }
    }

    /// What a worker thread starts with.
    private final class WorkerStart {
        let pool: WorkerPool
        init(pool: WorkerPool) { self.pool = pool }
        func run() { pool.serve() }
    }
}

/// One part of a job, as a worker sees it.
@usableFromInline
protocol WorkerJob {
    func run(_ range: Range<Int>)
}

/// A context-free body and a pointer to its arguments: three words, stored inline in `any WorkerJob`.
@usableFromInline
struct SharedArgumentsJob<Arguments>: WorkerJob {
    @usableFromInline let arguments: UnsafePointer<Arguments>
    @usableFromInline let body: (Arguments, Range<Int>) -> Void

    @inlinable
    init(arguments: UnsafePointer<Arguments>, body: @escaping (Arguments, Range<Int>) -> Void) {
        self.arguments = arguments
        self.body = body
    }

    @inlinable
    func run(_ range: Range<Int>) { body(arguments.pointee, range) }
}
