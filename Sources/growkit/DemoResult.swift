import GrowkitState
import GrowkitTraining
import GrowkitVerify

/// Everything `growkit demo` measured: `growkit demo --json` prints it (snake_case
/// keys), the text report renders it. Figures only; no file is read to build it.
struct DemoResult: Encodable, Sendable {
    var settings: Setup
    /// The forward pass against Hugging Face transformers, one row per reference model.
    var references: [Reference]
    /// The staged-training slope rule on the small run's own history.
    var planner: PlannerAnswer?
    /// The function-preservation check of the growth, on held-out batches (the losses before and after).
    var functionPreservation: FunctionPreservationResult?
    /// One row per check of the growth (function preservation today; `verify --gradients` joins here).
    var checks: [Check] = []
    /// small, grown, scratch: in that order.
    var runs: [Run] = []
    var comparison: Comparison?
    var outputs: Outputs?
    var seconds = 0.0
    /// Every reference case and every check passed.
    var passed: Bool { references.allSatisfy(\.passed) && checks.allSatisfy(\.passed) }

    /// Our forward pass against transformers' on one reference model (DESIGN.md section 6).
    struct Reference: Codable, Sendable {
        var name: String
        var family: String
        var loss: Double
        var referenceLoss: Double
        var lossDifference: Double
        var maxLogitDifference: Double
        var passed: Bool
        var torchVersion: String
        var transformersVersion: String

        init(_ comparison: ReferenceComparison) {
            name = comparison.name
            family = comparison.family
            loss = comparison.loss
            referenceLoss = comparison.referenceLoss
            lossDifference = comparison.lossDifference
            maxLogitDifference = comparison.maxLogitDifference
            passed = comparison.passes
            torchVersion = comparison.torchVersion
            transformersVersion = comparison.transformersVersion
        }

        enum CodingKeys: String, CodingKey {
            case name, family, loss, referenceLoss = "reference_loss", lossDifference = "abs_loss_diff"
            case maxLogitDifference = "max_abs_logit_diff", passed, torchVersion = "torch_version"
            case transformersVersion = "transformers_version"
        }
    }

    struct Setup: Codable, Sendable {
        var corpus: String
        var smallModel: Shape
        var grownModel: Shape
        var operators: [String]
        var optimizer: String
        var schedule: String
        var batchSize: Int
        var seqLen: Int
        var tokensPerStep: Int
        var growStep: Int
        var grownSteps: Int
        var warmupSteps: Int
        var peakLR: Double
        var minLR: Double
        var heldOutBatches: Int
        var seed: UInt64
        var rewarmSteps: Int
        var evalEvery: Int

        enum CodingKeys: String, CodingKey {
            case rewarmSteps = "rewarm_steps", evalEvery = "eval_every"
            case corpus, smallModel = "small_model", grownModel = "grown_model", operators, optimizer, schedule
            case batchSize = "batch_size", seqLen = "seq_len", tokensPerStep = "tokens_per_step", growStep = "grow_step"
            case grownSteps = "grown_steps", warmupSteps = "warmup_steps", peakLR = "peak_lr", minLR = "min_lr"
            case heldOutBatches = "held_out_batches", seed
        }
    }

    /// A model's size, as the table prints it.
    struct Shape: Codable, Sendable {
        var family: String
        var numLayers: Int
        var hiddenSize: Int
        var numHeads: Int
        var numKVHeads: Int
        var intermediateSize: Int
        var parameters: Int
        var nonEmbeddingParameters: Int

        init(_ config: ModelConfig) {
            family = config.family.rawValue
            numLayers = config.numLayers
            hiddenSize = config.hiddenSize
            numHeads = config.numHeads
            numKVHeads = config.numKVHeads
            intermediateSize = config.intermediateSize
            parameters = config.parameterCount
            nonEmbeddingParameters = config.nonEmbeddingParameterCount
        }

        enum CodingKeys: String, CodingKey {
            case family, numLayers = "num_layers", hiddenSize = "hidden_size", numHeads = "num_heads"
            case numKVHeads = "num_kv_heads", intermediateSize = "intermediate_size", parameters
            case nonEmbeddingParameters = "non_embedding_parameters"
        }
    }

    /// What the planner answered and what the demo did with it.
    struct PlannerAnswer: Codable, Sendable {
        var rule: String
        var growth: String
        var threshold: Double
        /// The smoothed slope of log L over log C at the end of the small run, its standard error, and the step at the window centre.
        var slope: Double
        var standardError: Double
        var centreStep: Double
        var timeToGrow: Bool
        /// The first logged step after twice the warmup at which the rule, applied to the history so far, said "grow" (nil: never within the run).
        var firstStepToGrow: Int?
        /// The step the demo grew at (its fixed step).
        var grewAtStep: Int
        /// One sentence for the report.
        var decision: String

        enum CodingKeys: String, CodingKey {
            case rule, growth, threshold, slope, standardError = "standard_error", centreStep = "centre_step"
            case timeToGrow = "time_to_grow", firstStepToGrow = "first_step_to_grow", grewAtStep = "grew_at_step", decision
        }
    }

    /// One row of the checks table: a named check of the growth, its figures and whether it passed.
    struct Check: Codable, Sendable {
        var name: String
        /// The figures as printed, in order (label, value).
        var figures: [Figure]
        var passed: Bool
        var verdict: String

        struct Figure: Codable, Sendable {
            var label: String
            var value: Double
        }
    }

    /// One training run.
    struct Run: Codable, Sendable {
        var name: String
        var checkpoint: String
        var numLayers: Int
        var hiddenSize: Int
        /// Parameters trained in this run (all of the model's).
        var parameters: Int
        var firstStep: Int
        var lastStep: Int
        /// Tokens this run trained on, and tokens seen by the model in total (a grown run counts its small phase).
        var tokensTrained: Int
        var tokensSeen: Int
        /// `6 N` per trained token of this run, and in total to reach this model (a grown run adds its small phase at the small size).
        var flops: Double
        var cumulativeFlops: Double
        var seconds: Double
        var tokensPerSecond: Double
        /// The last step's training loss and the mean loss on the held-out batches at the end.
        var finalLoss: Double
        var heldOutLoss: Double
        /// The run's loss curve as the checkpoint's history holds it (a grown run's starts with the small run's).
        var curve: Curve
        /// The held-out loss every `eval_every` steps of this run and at its end.
        var heldOutCurve: Curve

        enum CodingKeys: String, CodingKey {
            case heldOutCurve = "held_out_curve"
            case name, checkpoint, numLayers = "num_layers", hiddenSize = "hidden_size", parameters
            case firstStep = "first_step", lastStep = "last_step", tokensTrained = "tokens_trained", tokensSeen = "tokens_seen"
            case flops, cumulativeFlops = "cumulative_flops", seconds, tokensPerSecond = "tokens_per_second"
            case finalLoss = "final_loss", heldOutLoss = "held_out_loss", curve
        }
    }

    struct Curve: Codable, Sendable {
        var steps: [Int]
        var tokens: [Int]
        var flops: [Double]
        var losses: [Double]
    }

    /// The grown run against scratch, all on the held-out batches.
    struct Comparison: Codable, Sendable {
        /// The held-out loss at growth (the grown model's, equal to the small one's) and at the grown run's first evaluation after it.
        var heldOutAtGrowth: Double
        var heldOutAfterGrowth: Double
        var stepAfterGrowth: Int
        /// The largest held-out loss of the grown run after growth, and its step.
        var largestHeldOutAfterGrowth: Double
        var stepOfLargest: Int
        /// At the end of both runs: the same tokens at the grown size, the same schedule.
        var grownHeldOutLoss: Double
        var scratchHeldOutLoss: Double
        var grownAheadAtEqualTokens: Bool
        /// Equal compute: the smaller of the two runs' totals (the grown one's includes its small
        /// phase), and each run's held-out loss there (interpolated between evaluations; nil before the first).
        var equalFlops: Double
        var grownHeldOutAtEqualFlops: Double?
        var scratchHeldOutAtEqualFlops: Double?
        /// The grown run's total compute over the scratch run's.
        var flopsRatio: Double

        enum CodingKeys: String, CodingKey {
            case heldOutAtGrowth = "held_out_at_growth", heldOutAfterGrowth = "held_out_after_growth"
            case stepAfterGrowth = "step_after_growth", largestHeldOutAfterGrowth = "largest_held_out_after_growth"
            case stepOfLargest = "step_of_largest", grownHeldOutLoss = "grown_held_out_loss"
            case scratchHeldOutLoss = "scratch_held_out_loss", grownAheadAtEqualTokens = "grown_ahead_at_equal_tokens"
            case equalFlops = "equal_flops", grownHeldOutAtEqualFlops = "grown_held_out_at_equal_flops"
            case scratchHeldOutAtEqualFlops = "scratch_held_out_at_equal_flops", flopsRatio = "flops_ratio"
        }
    }

    /// The files written, every checkpoint re-read from disk after writing.
    struct Outputs: Codable, Sendable {
        var folder: String
        var checkpoints: [String]
        var plots: [String]
    }

    enum CodingKeys: String, CodingKey {
        case settings, references, planner, functionPreservation = "function_preservation", checks, runs, comparison
        case outputs, seconds, passed
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(settings, forKey: .settings)
        try c.encode(references, forKey: .references)
        try c.encodeIfPresent(planner, forKey: .planner)
        try c.encodeIfPresent(functionPreservation, forKey: .functionPreservation)
        try c.encode(checks, forKey: .checks)
        try c.encode(runs, forKey: .runs)
        try c.encodeIfPresent(comparison, forKey: .comparison)
        try c.encodeIfPresent(outputs, forKey: .outputs)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(passed, forKey: .passed)
    }
}
