import COpenBLAS
import Foundation
import GrowkitModel
import GrowkitState

/// `growkit-bench forward`: forward-pass tokens/s for the two reference configs
/// (DESIGN.md section 9), the GFLOP/s of its matmuls against plain `cblas_sgemm`
/// calls of the same shapes timed in the same run, and, when PyTorch is
/// installed, the ratio against `tools/bench_torch_forward.py` (torch eager).
/// `growkit-bench forward --paired P` alternates our forward and torch's P times per config (see
/// ``TorchComparison/paired(pairs:)``). `growkit-bench forward --ab [rounds]` instead compares the ``MatmulThreading`` modes, alternated
/// round by round in this one process (wall and CPU time, per-round speed-up, logit differences).
enum ForwardBenchmark {
    struct Case {
        let name: String
        let config: ModelConfig
        var batchSize = 8
        var seqLen = 256
    }

    static let cases: [Case] = [
        Case(name: "gpt2", config: .gpt2(vocabSize: 256, hiddenSize: 384, numLayers: 6, numHeads: 6, maxPosition: 256)),
        Case(name: "llama", config: .llama(vocabSize: 256, hiddenSize: 384, numLayers: 6, numHeads: 6, numKVHeads: 2,
                                           intermediateSize: 1024, maxPosition: 256)),
    ]

    static func run(arguments all: [String]) {
        var arguments = all
        var pairs = 0
        if let i = arguments.firstIndex(of: "--paired") {
            pairs = i + 1 < arguments.count ? max(1, Int(arguments[i + 1]) ?? 30) : 30
            arguments.removeSubrange(i..<min(i + 2, arguments.count))
        }
        let runs = arguments.compactMap(Int.init).first ?? 7
        if pairs > 0 {
            TorchComparison.paired(pairs: pairs)
            return
        }
        if arguments.contains("--ab") {
            print("growkit-bench forward --ab: matmul threading modes alternated in one process, batch 8, seq 256, "
                  + "\(runs) rounds after 2 warmup rounds, OpenBLAS \(openblas_get_num_threads()) threads")
            for c in cases { compareThreading(c, rounds: runs) }
            return
        }
        if let i = arguments.firstIndex(of: "--forwards-only") {
            // For tools/check_forward_allocations.sh: K forwards of the llama case and nothing
            // else, so that valgrind's heap counts for two values of K differ only by forwards.
            let count = i + 1 < arguments.count ? max(0, Int(arguments[i + 1]) ?? 1) : 1
            // Batch 2 x 64: small enough for valgrind, large enough that every kernel splits its work.
            var small = cases[1]
            small.batchSize = 2
            small.seqLen = 64
            forwardsOnly(small, count: count)
            return
        }
        if arguments.contains("--profile") {
            for c in cases { ForwardProfile.run(c, runs: runs) }
            return
        }
        print("growkit-bench forward: batch 8, seq 256, median of \(runs) runs after 2 warmup runs, "
              + "OpenBLAS \(openblas_get_num_threads()) threads (\(String(cString: openblas_get_corename())))")
        var ours: [String: Double] = [:]
        for c in cases {
            do {
                ours[c.name] = try measure(c, runs: runs)
            } catch {
                print("\(c.name): error: \(error)")
            }
        }
        compareWithTorch(ours, runs: runs)
    }



    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

    /// Deterministic uniform weights in [-scale, scale) (SplitMix64), norm weights near 1.
    static func randomParameters(_ config: ModelConfig) -> [String: Tensor] {
        var state: UInt64 = 42
        func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Double(z >> 11) / Double(1 << 53) * 2 - 1)
        }
        var out: [String: Tensor] = [:]
        for spec in config.parameters() {
            let scale: Float = spec.shape.count == 2 ? 0.05 : 0.02
            var data = (0..<spec.elementCount).map { _ in next() * scale }
            if spec.name.hasSuffix("norm.weight") { data = data.map { 1 + $0 } }
            out[spec.name] = Tensor(shape: spec.shape, data: data)
        }
        return out
    }

    /// Builds weights and activations once, then runs `count` forward passes with targets.
    static func forwardsOnly(_ c: Case, count: Int) {
        do {
            let weights = try ModelWeights(config: c.config, parameters: randomParameters(c.config))
            let acts = try Activations(config: c.config, batchSize: c.batchSize, seqLen: c.seqLen,
                                       keepForBackward: true)
            let n = c.batchSize * c.seqLen
            let tokens = (0..<n).map { Int32(($0 * 7919) % c.config.vocabSize) }
            let targets = (0..<n).map { Int32(($0 * 7919 + 1) % c.config.vocabSize) }
            for _ in 0..<count { try weights.forward(tokens: tokens, targets: targets, activations: acts) }
        } catch {
            print("\(c.name): error: \(error)")
        }
    }

    /// Returns our tokens/s.
    static func measure(_ c: Case, runs: Int) throws -> Double {
        let config = c.config
        let weights = try ModelWeights(config: config, parameters: randomParameters(config))
        let n = c.batchSize * c.seqLen
        let tokens = (0..<n).map { Int32(($0 * 7919) % config.vocabSize) }
        let targets = (0..<n).map { Int32(($0 * 7919 + 1) % config.vocabSize) }
        var lines: [String] = []
        var result = 0.0
        for keep in [false, true] {
            let acts = try Activations(config: config, batchSize: c.batchSize, seqLen: c.seqLen, keepForBackward: keep)
            var times: [Double] = [], cpu: [Double] = []
            var loss: Float = 0
            for i in 0..<(runs + 2) {
                let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
                loss = try weights.forward(tokens: tokens, targets: targets, activations: acts) ?? .nan
                if i >= 2 {
                    times.append(BenchClock.wall() - t0)
                    cpu.append(BenchClock.processCPU() - c0)
                }
            }
            let t = median(times), best = times.min()!
            let tps = Double(n) / t
            if !keep { result = tps }
            lines.append(String(format: "%@ forward (%@): %.0f tokens/s (best run %.0f), %.1f ms per batch (%.1f ms CPU time), loss %.4f, activations %.0f MiB",
                                c.name, keep ? "activations kept for backward" : "forward only",
                                tps, Double(n) / best, t * 1e3, median(cpu) * 1e3, loss, Double(acts.byteCount) / 1_048_576))
            if !keep {
                let (projections, attention) = sgemmGroups(c)
                let projectionFlops = flops(projections), attentionFlops = flops(attention)
                let (projectionTime, projectionCPU) = timeSgemm(projections, runs: runs)
                let total = projectionFlops + attentionFlops
                lines.append(String(format: "%@ matmuls: %.2f GFLOP per forward (%.2f projections and head, %.2f causal attention); "
                                    + "forward %.1f GFLOP/s effective; plain cblas_sgemm of the projection shapes %.1f GFLOP/s "
                                    + "(%.1f ms = %.0f%% of the forward time; %.1f ms CPU time = %.0f%% of the forward's)",
                                    c.name, total / 1e9, projectionFlops / 1e9, attentionFlops / 1e9, total / t / 1e9,
                                    projectionFlops / projectionTime / 1e9, projectionTime * 1e3, 100 * projectionTime / t,
                                    projectionCPU * 1e3, 100 * projectionCPU / median(cpu)))
            }
        }
        lines.forEach { print($0) }
        return result
    }

    /// A/B(/C) of ``MatmulThreading`` modes: each round runs, per mode in rotating order, one
    /// untimed and one timed forward, so load from other processes hits every mode alike. Prints per mode the median wall
    /// and CPU time, the median of the per-round time ratios against `.openBLAS`, and the largest
    /// logit difference against `.openBLAS`.
    static func compareThreading(_ c: Case, rounds: Int) {
        do {
            let config = c.config
            let base = try ModelWeights(config: config, parameters: randomParameters(config))
            let modes = MatmulThreading.allCases
            let n = c.batchSize * c.seqLen
            let tokens = (0..<n).map { Int32(($0 * 7919) % config.vocabSize) }
            let targets = (0..<n).map { Int32(($0 * 7919 + 1) % config.vocabSize) }
            let acts = try Activations(config: config, batchSize: c.batchSize, seqLen: c.seqLen, keepForBackward: false)
            var wall = [[Double]](repeating: [], count: modes.count), cpu = wall
            var logits: [[Float]] = []
            for mode in modes {
                var w = base
                w.matmulThreading = mode
                try w.forward(tokens: tokens, targets: targets, activations: acts)
                logits.append(acts.logitsTensor().data)
            }
            for round in 0..<(rounds + 2) {
                for k in 0..<modes.count {
                    let i = (round + k) % modes.count
                    var w = base
                    w.matmulThreading = modes[i]
                    // One untimed forward first: a mode's first forward after another mode's pays for
                    // the switch (OpenBLAS's pool waking or going idle), which a trainer never sees.
                    try w.forward(tokens: tokens, targets: targets, activations: acts)
                    let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
                    try w.forward(tokens: tokens, targets: targets, activations: acts)
                    if round >= 2 {
                        wall[i].append(BenchClock.wall() - t0)
                        cpu[i].append(BenchClock.processCPU() - c0)
                    }
                }
            }
            for (i, mode) in modes.enumerated() {
                let ratios = zip(wall[0], wall[i]).map { $0 / $1 }
                let diff = zip(logits[0], logits[i]).map { abs($0 - $1) }.max() ?? 0
                print(String(format: "%@ %@: %.1f ms wall (min %.1f), %.1f ms CPU, %.0f tokens/s; "
                             + "speed-up vs openBLAS per round: median %.3f (min %.3f, max %.3f); max |logit diff| %g",
                             c.name, "\(mode)".padding(toLength: 12, withPad: " ", startingAt: 0),
                             median(wall[i]) * 1e3, wall[i].min()! * 1e3, median(cpu[i]) * 1e3,
                             Double(n) / median(wall[i]), median(ratios), ratios.min()!, ratios.max()!, Double(diff)))
            }
        } catch {
            print("\(c.name): error: \(error)")
        }
    }

    /// One sgemm shape: `C[m, n] = A[m, k] B^T or B` with the forward's leading dimensions.
    struct Gemm { let m, n, k: Int; let transB: Bool; let lda, ldb, ldc: Int; let repeats: Int }

    /// The sgemm calls of one forward pass, as two groups timed separately as plain sgemm calls on
    /// scratch buffers: the projections and head (big, all B*T rows at once) and the blocked causal
    /// attention products (many small ones). Returns (FLOPs, median seconds) per group.
    static func sgemmGroups(_ c: Case) -> (projections: [Gemm], attention: [Gemm]) {
        let cfg = c.config
        let N = c.batchSize * c.seqLen, C = cfg.hiddenSize, I = cfg.intermediateSize
        let qw = cfg.queryWidth, kvw = cfg.keyValueWidth, hd = cfg.headDim, T = c.seqLen
        let L = cfg.numLayers
        // The forward's shapes: q/k/v fused into one [qw + 2 kvw, C] projection, gate/up into one [2I, C].
        let qkv = qw + 2 * kvw, mlp = cfg.activation == .swiglu ? 2 * I : I
        let projections: [Gemm] = [
            Gemm(m: N, n: qkv, k: C, transB: true, lda: C, ldb: C, ldc: qkv, repeats: L),
            Gemm(m: N, n: C, k: qw, transB: true, lda: qw, ldb: qw, ldc: C, repeats: L),
            Gemm(m: N, n: mlp, k: C, transB: true, lda: C, ldb: C, ldc: mlp, repeats: L),
            Gemm(m: N, n: C, k: I, transB: true, lda: I, ldb: I, ldc: C, repeats: L),
            Gemm(m: N, n: cfg.vocabSize, k: C, transB: true, lda: C, ldb: C, ldc: cfg.vocabSize, repeats: 1),
        ]
        var attention: [Gemm] = []
        let heads = c.batchSize * cfg.numHeads * L
        var r0 = 0
        while r0 < T {
            let r1 = min(T, r0 + 64)
            attention.append(Gemm(m: r1 - r0, n: r1, k: hd, transB: true, lda: qkv, ldb: qkv, ldc: T, repeats: heads))
            attention.append(Gemm(m: r1 - r0, n: hd, k: r1, transB: false, lda: T, ldb: qkv, ldc: qw, repeats: heads))
            r0 = r1
        }
        return (projections, attention)
    }

    static func flops(_ gemms: [Gemm]) -> Double {
        gemms.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k * $1.repeats) }
    }

    /// Median wall and CPU seconds of running every call in `gemms` as plain `cblas_sgemm` on scratch buffers.
    static func timeSgemm(_ gemms: [Gemm], runs: Int) -> (wall: Double, cpu: Double) {
        let largest = gemms.map { max($0.m * $0.lda, $0.n * $0.ldb, $0.k * $0.ldb, $0.m * $0.ldc) }.max()! + 1
        var a = [Float](repeating: 0.01, count: largest), b = a, out = a
        var times: [Double] = [], cpu: [Double] = []
        for i in 0..<(runs + 1) {
            let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
            a.withUnsafeMutableBufferPointer { a in
                b.withUnsafeMutableBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in
                        for g in gemms {
                            for _ in 0..<g.repeats {
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
                                            Int32(g.m), Int32(g.n), Int32(g.k), 1, a.baseAddress, Int32(g.lda),
                                            b.baseAddress, Int32(g.ldb), 0, o.baseAddress, Int32(g.ldc))
                            }
                        }
                    }
                }
            }
            if i >= 1 {
                times.append(BenchClock.wall() - t0)
                cpu.append(BenchClock.processCPU() - c0)
            }
        }
        return (median(times), median(cpu))
    }

    /// Runs tools/bench_torch_forward.py (if present and torch imports) and prints ours/torch.
    static func compareWithTorch(_ ours: [String: Double], runs: Int) {
        let script = FileManager.default.currentDirectoryPath + "/tools/bench_torch_forward.py"
        guard FileManager.default.fileExists(atPath: script) else {
            print("torch comparison: \(script) not found (run from the package root)")
            return
        }
        guard let probe = runPython(["-c", "import torch"]), probe.status == 0 else {
            print("torch comparison: PyTorch is not installed (python3 -c 'import torch' failed)")
            return
        }
        guard let result = runPython([script, "--runs", "\(runs)", "--warmup", "2"]), result.status == 0 else {
            print("torch comparison: \(script) failed")
            return
        }
        var matched = false
        for line in result.output.split(separator: "\n") {
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            // One JSON object per config (see tools/bench_torch_forward.py).
            let name = object["config"] as? String
            let rate = (object["tokens_per_second"] as? NSNumber)?.doubleValue
            guard let name, let rate, let mine = ours[name] else { continue }
            matched = true
            print(String(format: "%@ forward: ours %.0f tokens/s, torch eager %.0f tokens/s, ratio ours/torch %.2f",
                         name, mine, rate, mine / rate))
        }
        if !matched { print("torch comparison: no tokens/s figures recognised in the output of \(script)") }
    }

    static func runPython(_ arguments: [String]) -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
