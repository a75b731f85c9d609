import COpenBLAS
import GrowkitParallel

/// Splits elementwise and per-row work over the machine's cores (``workers`` of them), in
/// contiguous chunks so each worker streams its own memory, on our ``WorkerPool``. Small jobs
/// run inline: waking a thread costs microseconds.
public enum Parallel {
    /// Worker count: OpenBLAS's thread count (what the matmuls use), at least 1.
    public static let workers = max(1, Int(openblas_get_num_threads()))

    static let pool = WorkerPool(width: workers)

    /// Calls `body(arguments, range)` on disjoint ranges covering `0 ..< count`, in parallel when
    /// `count` is at least `2 * minimumChunk`.
    ///
    /// `body` must capture nothing: everything it reads comes in `arguments` (a tuple of pointers
    /// and sizes, say), which stays on the caller's stack while the workers read it. A capturing
    /// closure would still work but would allocate its context on every call, which the forward
    /// pass promises not to do (see ``WorkerPool``).
    public static func chunks<Arguments>(
        _ count: Int, minimumChunk: Int, sharing arguments: Arguments,
        _ body: @escaping (Arguments, Range<Int>) -> Void
    ) {
        let parts = min(workers, count / max(minimumChunk, 1))
        if parts <= 1 {
            body(arguments, 0..<count)
            return
        }
        pool.run(parts: parts, count: count, sharing: arguments, body)
    }

    /// Like ``chunks(_:minimumChunk:sharing:_:)`` for work that calls sgemm itself: OpenBLAS is
    /// set to one thread for the duration, so the workers' small sgemm calls run
    /// side by side instead of each waking OpenBLAS's pool. OpenBLAS's thread count is
    /// process-wide, so do not run two forward passes concurrently on different threads
    /// (one would briefly see the other's setting; results stay correct, speed does not).
    public static func chunksCallingBLAS<Arguments>(
        _ count: Int, sharing arguments: Arguments, _ body: @escaping (Arguments, Range<Int>) -> Void
    ) {
        let blasThreads = openblas_get_num_threads()
        guard workers > 1, count > 1 else {
            body(arguments, 0..<count)
            return
        }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        chunks(count, minimumChunk: 1, sharing: arguments, body)
    }
}

/// How the forward pass spreads its large projection matmuls (`Y[N, out] = X[N, in] · W^T + b`,
/// N = B*T rows) over the cores. All three give bit-identical logits (each output element is the
/// same OpenBLAS dot product over `in`; `growkit-bench forward --ab` checks it).
///
/// Default ``splitRows``, by measurement: `growkit-bench forward 7 --ab` (2 cores, OpenBLAS 0.3.21
/// pthreads, batch 8 x seq 256; per round each mode runs one untimed then one timed forward) gave
/// median per-round speed-ups over ``openBLAS`` of 1.08 (gpt2) and 1.16 (llama) for ``splitRows``
/// and 1.04 / 1.07 for ``splitColumns``, with 10-17% less process CPU time. The difference is
/// OpenBLAS's pool: between its calls its threads spin (`sched_yield`) while our own workers run
/// attention and the elementwise kernels on the same two cores. With OpenBLAS at one thread for the
/// whole pass there is one set of workers and nothing spins. (An earlier protocol that alternated
/// modes forward by forward hid this: each ``openBLAS`` forward then started with an idle pool.)
public enum MatmulThreading: Sendable, CaseIterable {
    /// One `cblas_sgemm` call per projection, threaded by OpenBLAS's own pool
    /// (which spin-waits between calls and synchronises inside each one).
    case openBLAS
    /// OpenBLAS set to one thread for the whole forward pass; each projection is split by
    /// rows of `X` over ``Parallel/workers`` (each worker `Y[rows] = X[rows] · W^T + b`).
    case splitRows
    /// Like ``splitRows`` but split by output columns (rows of `W`): each worker
    /// `Y[:, cols] = X · W[cols]^T + b[cols]`.
    case splitColumns
}

extension Parallel {
    /// Runs `body` with OpenBLAS at one thread (process-wide, restored afterwards) when
    /// `threading` splits the matmuls itself; otherwise runs it unchanged.
    @inlinable
    public static func withMatmulThreading<R>(_ threading: MatmulThreading, _ body: () throws -> R) rethrows -> R {
        guard threading != .openBLAS, workers > 1 else { return try body() }
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        return try body()
    }
}
