import GrowkitState

/// What `growkit demo` trains, grows and compares: the model sizes, the growth
/// operators, the batch, the schedule and where the outputs go. Every run has the
/// same schedule shape (linear warmup, cosine from `peakLR` to `minLR`) and the same
/// AdamW hyperparameters. ``full`` is the
/// README's run (under five minutes on two cores, release build); ``quick`` is a
/// few tens of steps of a tiny model, for the tests.
struct DemoSettings: Sendable {
    /// The small model, trained first and then grown.
    var smallConfig: ModelConfig
    /// Depth and width operators in `growkit grow` syntax.
    var depthOperator = "identity:2"
    var widthOperator = "duplicate:2,snr=20"
    var batchSize: Int
    var seqLen: Int
    /// The small run's steps: the demo grows here whatever the planner says, and says so.
    var growStep: Int
    /// Steps of the grown run after growth and of the scratch run: the same tokens at the
    /// grown size. The small run's cosine spans `growStep + grownSteps` and the grown run
    /// finishes it (staged training: the schedule continues through growth); the scratch
    /// run's cosine spans its own `grownSteps`.
    var grownSteps: Int
    var warmupSteps: Int
    /// After growth the learning rate re-warms from 0 to the schedule's value over this many
    /// steps (staged training's `rewarm` at the step reached), so the new blocks' first AdamW
    /// steps (zero moments: about `lr sign(g)` each) stay small.
    var rewarmSteps: Int
    /// The held-out batches are scored every this many steps (and at each run's end).
    var evalEvery: Int
    var peakLR = 2e-3
    var minLR = 2e-4
    /// Batches of the held-out split for the losses before and after growth and at the end.
    var heldOutBatches: Int
    var seed: UInt64 = 0
    var validationFraction = 0.1
    /// The staged-training slope rule's smoothing window (docs/PLANNER.md).
    var plannerWindowDecades = 0.2

    static let full = DemoSettings(
        smallConfig: .llama(vocabSize: 256, hiddenSize: 64, numLayers: 2, numHeads: 4, numKVHeads: 2,
                            intermediateSize: 172, maxPosition: 1024),
        batchSize: 16, seqLen: 128, growStep: 500, grownSteps: 250, warmupSteps: 25, rewarmSteps: 100, evalEvery: 25,
        heldOutBatches: 8)

    static let quick = DemoSettings(
        smallConfig: .llama(vocabSize: 256, hiddenSize: 32, numLayers: 1, numHeads: 2, numKVHeads: 1,
                            intermediateSize: 64, maxPosition: 256),
        batchSize: 4, seqLen: 32, growStep: 24, grownSteps: 24, warmupSteps: 4, rewarmSteps: 4, evalEvery: 8, heldOutBatches: 2)

    var tokensPerStep: Int { batchSize * seqLen }
    var operators: [String] { ["depth=\(depthOperator)", "width=\(widthOperator)"] }
}

/// The demo's files in its output folder.
struct DemoPaths: Sendable {
    var folder: String
    var fixtures: String

    var corpus: String { "\(fixtures)/jargon-file-4.4.7.txt.zst" }
    var referenceFolder: String { "\(fixtures)/hf" }
    /// The small run at the growth step.
    var small: String { "\(folder)/small.h5" }
    /// The grown state straight out of growth (verified, not trained).
    var grown: String { "\(folder)/grown.h5" }
    /// The grown state trained to the end of the schedule.
    var grownTrained: String { "\(folder)/grown-trained.h5" }
    /// The grown size trained from scratch for the same tokens.
    var scratch: String { "\(folder)/scratch.h5" }
    var plotTokens: String { "\(folder)/loss-vs-tokens.svg" }
    var plotFlops: String { "\(folder)/loss-vs-flops.svg" }
}
