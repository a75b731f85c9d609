import COpenBLAS
import Foundation
import GrowkitModel
import GrowkitState
import GrowkitTraining

/// `growkit-bench train [runs] [--paired P]`: training tokens/s (forward, backward, AdamW) of the two
/// reference configs at batch 8 x seq 256, the achieved GFLOP/s against the 6N FLOPs per token
/// rule, and peak memory. `--paired P` alternates one step of ours with one of PyTorch eager
/// (`tools/bench_torch_forward.py --serve --train`: HF model, cross-entropy, backward,
/// `torch.optim.AdamW(foreach=True)`), as ``TorchComparison`` does for the forward pass. Ours runs
/// without gradient clipping here, as torch's step does.
enum TrainBenchmark {
    static func run(arguments all: [String]) {
        var arguments = all
        var pairs = 0
        if let i = arguments.firstIndex(of: "--paired") {
            pairs = i + 1 < arguments.count ? max(1, Int(arguments[i + 1]) ?? 10) : 10
            arguments.removeSubrange(i..<min(i + 2, arguments.count))
        }
        let runs = arguments.compactMap(Int.init).first ?? 5
        var torch: TorchComparison.TorchServer?
        let script = FileManager.default.currentDirectoryPath + "/tools/bench_torch_forward.py"
        if pairs > 0 {
            torch = TorchComparison.TorchServer(script: script, names: ForwardBenchmark.cases.map(\.name), warmup: 2,
                                                train: true)
            if torch == nil { return }
        }
        defer { torch?.stop() }
        print("growkit-bench train: batch 8, seq 256, forward + backward + AdamW, "
              + (pairs > 0 ? "\(pairs) pairs (ours, torch eager) per config after 2 warmup steps"
                           : "median of \(runs) steps after 2 warmup steps")
              + ", OpenBLAS \(openblas_get_num_threads()) threads (\(String(cString: openblas_get_corename())))")
        for c in ForwardBenchmark.cases {
            do {
                try measure(c, runs: pairs > 0 ? pairs : runs, torch: torch)
            } catch {
                print("\(c.name): error: \(error)")
            }
        }
        print(String(format: "peak RSS of this process %.0f MB", StorageBenchmark.peakRSSBytes() / 1e6)
              + (torch.map { String(format: ", of the torch server (both models) %.0f MB", $0.peakRSSBytes / 1e6) } ?? ""))
    }

    static func measure(_ c: ForwardBenchmark.Case, runs: Int, torch: TorchComparison.TorchServer?) throws {
        let weights = try ModelWeights(config: c.config, parameters: ForwardBenchmark.randomParameters(c.config))
        let stepper = try TrainingStepper(
            weights: weights,
            optimizer: AdamWOptimizer(config: c.config, hyperparameters: AdamWHyperparameters(lr: 1e-4, weightDecay: 0.1)),
            schedule: Schedule(kind: .constant, peakLR: 1e-4, totalSteps: 1_000_000), maxGradNorm: nil, step: 0,
            batchSize: c.batchSize, seqLen: c.seqLen)
        let n = c.batchSize * c.seqLen
        stepper.inputs[0] = (0..<n).map { Int32(($0 * 7919) % c.config.vocabSize) }
        stepper.targets[0] = (0..<n).map { Int32(($0 * 7919 + 1) % c.config.vocabSize) }
        var ours: [(seconds: Double, cpu: Double)] = [], theirs = ours
        for i in 0..<(runs + 2) {
            let t0 = BenchClock.wall(), c0 = BenchClock.processCPU()
            try stepper.step()
            let mine = (BenchClock.wall() - t0, BenchClock.processCPU() - c0)
            var other: (seconds: Double, cpu: Double)?
            if let torch {
                guard let reply = torch.forward(c.name) else {
                    print("torch comparison: no reply for \(c.name)")
                    return
                }
                other = reply
            }
            if i >= 2 {
                ours.append(mine)
                if let other { theirs.append(other) }
            }
        }
        let median = ForwardBenchmark.median
        let tokensPerSecond = Double(n) / median(ours.map(\.seconds))
        // Kaplan's 6N per trained token (N = all parameters here, embeddings included, as the sgemms
        // run over them), plus attention's 12 L T d per token, against the wall time.
        let N = Double(c.config.parameterCount)
        let attention = 12 * Double(c.config.numLayers * c.seqLen * c.config.queryWidth)
        let gflops = (6 * N + attention) * tokensPerSecond / 1e9
        var line = String(format: "%@ train: ours %.0f tokens/s (%.0f ms per step, %.0f ms CPU), %.1f GFLOP/s by 6N + attention",
                          c.name, tokensPerSecond, median(ours.map(\.seconds)) * 1e3, median(ours.map(\.cpu)) * 1e3, gflops)
        if !theirs.isEmpty {
            let ratios = zip(ours, theirs).map { $1.seconds / $0.seconds }.sorted()
            let cpuRatios = zip(ours, theirs).map { $1.cpu / $0.cpu }
            line += String(format: "; torch eager %.0f tokens/s (%.0f ms CPU); per pair ours/torch median %.2f "
                           + "(quartiles %.2f-%.2f, %d pairs); CPU time torch/ours median %.2f",
                           Double(n) / median(theirs.map(\.seconds)), median(theirs.map(\.cpu)) * 1e3,
                           median(ratios), ratios[ratios.count / 4], ratios[(3 * ratios.count) / 4], ratios.count,
                           median(cpuRatios))
        }
        print(line)
    }
}
