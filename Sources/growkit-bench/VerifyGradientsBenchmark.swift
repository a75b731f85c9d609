import Foundation
import GrowkitCheckpoint
import GrowkitModel
import GrowkitState
import GrowkitTraining
#if canImport(Glibc)
import Glibc
#endif

/// `growkit-bench verify-gradients [--dir DIR] [--quick] [--op 'ARGS']`
///
/// `growkit verify --gradients SMALL GROWN` (default batches: 2 x 4 x 64 tokens, random ids) on a
/// GPT-2 124M-shaped state with both moments (`--quick`: 2 layers) grown by `growkit grow --depth
/// identity:layers=24` (or `--op`), as a child process, against the baseline measured in the same
/// run: reading both files whole (``CheckpointReader/readAll()``) plus one training step
/// (forward, backward, AdamW) of the grown model on the same 512 tokens (8 x 64). Target: ratio <= 3.
enum VerifyGradientsBenchmark {
    static func run(arguments: [String]) {
        var folder = "/tmp", quick = false
        var operation = ["--depth", "identity:layers=24"]
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--dir" where i + 1 < arguments.count: folder = arguments[i + 1]; i += 1
            case "--quick": quick = true
            case "--op" where i + 1 < arguments.count: operation = arguments[i + 1].split(separator: " ").map(String.init); i += 1
            default: print("usage: growkit-bench verify-gradients [--dir DIR] [--quick] [--op '--width duplicate:2']"); return
            }
            i += 1
        }
        do {
            try measure(folder: folder, layers: quick ? 2 : 12, operation: quick && operation[1] == "identity:layers=24"
                        ? ["--depth", "identity:layers=4"] : operation)
        } catch {
            print("verify-gradients benchmark failed: \(error)")
        }
    }

    static func measure(folder: String, layers: Int, operation: [String]) throws {
        let config = ModelConfig.gpt2(vocabSize: 50257, hiddenSize: 768, numLayers: layers, numHeads: 12, maxPosition: 1024)
        let small = folder + "/growkit-bench-verify-small.h5", grown = folder + "/growkit-bench-verify-grown.h5"
        defer { for path in [small, grown] { unlink(path) } }
        try GrowBenchmark.writeSource(config, to: small)
        let growkit = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("growkit").path
        _ = try GrowBenchmark.child(growkit, ["grow", small, grown] + operation)
        sync()

        // Baseline: both files read whole, then one training step of the grown model on 8 x 64 tokens.
        var t0 = BenchClock.wall()
        _ = try CheckpointReader(path: small).readAll()
        var grownState: TrainingState? = try CheckpointReader(path: grown).readAll()
        let readSeconds = BenchClock.wall() - t0
        let grownConfig = grownState!.config
        let stepper = try TrainingStepper(
            weights: ModelWeights(config: grownConfig, parameters: grownState!.parameters),
            optimizer: AdamWOptimizer(config: grownConfig, hyperparameters: grownState!.optimizer, states: grownState!.optimizerState),
            schedule: grownState!.schedule, maxGradNorm: 1.0, step: grownState!.trainer.step, batchSize: 8, seqLen: 64)
        grownState = nil
        stepper.inputs[0] = (0..<512).map { Int32(($0 * 7919) % config.vocabSize) }
        stepper.targets[0] = (0..<512).map { Int32(($0 * 7919 + 1) % config.vocabSize) }
        var stepSeconds = Double.infinity
        for _ in 0..<2 {
            t0 = BenchClock.wall()
            try stepper.step()
            stepSeconds = min(stepSeconds, BenchClock.wall() - t0)
        }
        let baseline = readSeconds + stepSeconds
        let (verifySeconds, rss) = try GrowBenchmark.child(growkit, ["verify", "--gradients", small, grown])
        print(String(format: "verify --gradients, GPT-2 124M shapes (%d layers, %d parameters) grown by %@ to %d parameters",
                     layers, config.parameterCount, operation.joined(separator: " "), grownConfig.parameterCount))
        print(String(format: "  verify --gradients %.2f s (peak RSS %.0f MB); baseline %.2f s = both files read %.2f s + one grown training step (8 x 64 tokens) %.2f s; ratio %.2f (target <= 3)",
                     verifySeconds, rss / 1e6, baseline, readSeconds, stepSeconds, verifySeconds / baseline))
    }
}
