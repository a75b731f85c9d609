import COpenBLAS
import Foundation
import GrowkitModel
import GrowkitState

/// `growkit-bench forward --profile`: each forward kernel timed alone at the
/// benchmark shapes (per layer), to see where the forward's time goes.
enum ForwardProfile {
    static func run(_ c: ForwardBenchmark.Case, runs: Int) {
        let cfg = c.config
        let B = c.batchSize, T = c.seqLen, N = B * T
        let C = cfg.hiddenSize, I = cfg.intermediateSize, hd = cfg.headDim
        let qw = cfg.queryWidth, kvw = cfg.keyValueWidth
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = Float((i * 7919) % 1000) / 1000 - 0.5 }
            return p
        }
        let x = buffer(N * C), y = buffer(N * C), mean = buffer(N), rstd = buffer(N), w = buffer(max(C, I) * max(C, I))
        let q = buffer(N * qw), k = buffer(N * kvw), v = buffer(N * kvw), probs = buffer(B * cfg.numHeads * T * T)
        let att = buffer(N * qw), up = buffer(N * I), gate = buffer(N * I), act = buffer(N * I)
        let cosT = buffer(T * hd / 2), sinT = buffer(T * hd / 2), valuesTransposed = buffer(N * kvw)
        func time(_ name: String, _ body: () -> Void) {
            var ts: [Double] = []
            var cpu: [Double] = []
            for i in 0..<(runs + 1) {
                let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
                body()
                if i > 0 {
                    ts.append(BenchClock.wall() - t0)
                    cpu.append(BenchClock.processCPU() - c0)
                }
            }
            print(String(format: "  %@ %@: median %.3f ms, best %.3f ms, process CPU time %.3f ms", c.name, name,
                         ForwardBenchmark.median(ts) * 1e3, ts.min()! * 1e3, ForwardBenchmark.median(cpu) * 1e3))
        }
        print("\(c.name) per-layer kernel times (median of \(runs)):")
        time("layerNorm") { Kernels.layerNorm(out: y, mean: mean, rstd: rstd, inp: x, weight: w, bias: w, rows: N, channels: C, eps: 1e-5) }
        time("rmsNorm") { Kernels.rmsNorm(out: y, rstd: rstd, inp: x, weight: w, rows: N, channels: C, eps: 1e-5) }
        time("linear q") { Kernels.linear(out: q, inp: x, weight: w, bias: nil, rows: N, inFeatures: C, outFeatures: qw) }
        time("linear q + bias") { Kernels.linear(out: q, inp: x, weight: w, bias: w, rows: N, inFeatures: C, outFeatures: qw) }
        time("linear up") { Kernels.linear(out: up, inp: x, weight: w, bias: nil, rows: N, inFeatures: C, outFeatures: I) }
        time("linear down (accumulate)") { Kernels.linear(out: y, inp: up, weight: w, bias: nil, rows: N, inFeatures: I, outFeatures: C, accumulate: true) }
        time("rope q+k") {
            Kernels.rope(q, cos: cosT, sin: sinT, batchSize: B, seqLen: T, heads: cfg.numHeads, headDim: hd, rowStride: qw)
            Kernels.rope(k, cos: cosT, sin: sinT, batchSize: B, seqLen: T, heads: cfg.numKVHeads, headDim: hd, rowStride: kvw)
        }
        time("causalAttention") {
            Kernels.causalAttention(out: att, probs: probs, q: q, k: k, v: v, valuesTransposed: valuesTransposed,
                                    batchSize: B, seqLen: T,
                                    heads: cfg.numHeads, kvHeads: cfg.numKVHeads, headDim: hd)
        }
        time("geluTanh") { Kernels.geluTanh(out: act, inp: up, count: N * I) }
        time("swiglu") { Kernels.swiglu(out: act, gate: gate, up: up, rows: N, columns: I, inputRowStride: I) }
        time("residual copy") { y.update(from: x, count: N * C) }
        // Per-element cost in cache, by this thread's CPU time (insensitive to other processes' load).
        func cpuNanosPerElement(_ name: String, _ body: (Int) -> Void) {
            let count = 1 << 14, repeats = 400
            var ts = timespec(), te = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            for _ in 0..<repeats { body(count) }
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &te)
            let seconds = Double(te.tv_sec - ts.tv_sec) + Double(te.tv_nsec - ts.tv_nsec) * 1e-9
            print(String(format: "  %@ %@ in cache, one thread: %.2f ns per element (thread CPU time)",
                         c.name, name, seconds / Double(count * repeats) * 1e9))
        }
        cpuNanosPerElement("geluTanh") { Kernels.geluTanh(out: act, inp: up, count: $0) }
        cpuNanosPerElement("swiglu") { Kernels.swiglu(out: act, gate: gate, up: up, rows: 1, columns: $0, inputRowStride: $0) }
    }
}
