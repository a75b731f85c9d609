import GrowkitState

/// Which of the runs `verify --steps` continues.
public enum DynamicsRunKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// SMALL, continued (the control: the same batches, the model before growth).
    case source
    /// GROWN, continued.
    case grown
    /// A model of GROWN's size trained from scratch (``GrowkitTraining/ModelInitialization``), with
    /// GROWN's optimizer hyperparameters and schedule from step 0.
    case scratch
}

/// Settings of ``TrainingDynamics/run(source:grown:data:settings:progress:)``.
public struct TrainingDynamicsSettings: Sendable, Hashable {
    /// Optimizer updates per run.
    public var steps: Int
    /// Rows per batch and tokens per row (default: GROWN's trainer position, the sequence capped
    /// at `max_position` of both models).
    public var batchSize: Int?
    public var seqLen: Int?
    /// Also train a model of GROWN's size from scratch.
    public var scratch: Bool
    /// Seed of the scratch model's initialisation.
    public var scratchSeed: UInt64
    /// Global-norm clipping, as `growkit train` (default 1.0; `nil` for none).
    public var maxGradNorm: Double?
    /// The held-out tail of the data, as `growkit train --validation` (the cursor counts in the rest).
    public var validationFraction: Double
    /// Keep each run's final state (for `--out-dir`); otherwise only the figures are returned.
    public var keepStates: Bool

    public init(steps: Int, batchSize: Int? = nil, seqLen: Int? = nil, scratch: Bool = false, scratchSeed: UInt64 = 0,
                maxGradNorm: Double? = 1.0, validationFraction: Double = 0.1, keepStates: Bool = false) {
        self.steps = steps
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.scratch = scratch
        self.scratchSeed = scratchSeed
        self.maxGradNorm = maxGradNorm
        self.validationFraction = validationFraction
        self.keepStates = keepStates
    }
}

/// One run's loss curve.
public struct DynamicsCurve: Sendable, Hashable, Codable {
    public var run: DynamicsRunKind
    public var parameters: Int
    /// The trainer step after each update (the state's step plus 1, 2, ...).
    public var steps: [Int]
    /// Mean loss of each update's batch, before the update (what `/history` records).
    public var losses: [Double]
    public var learningRates: [Double]
    /// Tokens this run has trained on after each update (`k B T`; not the state's tokens seen).
    public var tokens: [Int]
    /// No decrease over the run: the mean loss of the last `ceil(N/3)` steps is not below the mean
    /// of the first `ceil(N/3)` (`false` with fewer than 2 steps).
    public var stalled: Bool

    public var firstLoss: Double { losses.first ?? .nan }
    public var lastLoss: Double { losses.last ?? .nan }

    enum CodingKeys: String, CodingKey {
        case run, parameters, steps, losses, learningRates = "learning_rates", tokens, stalled
        case firstLoss = "first_loss", lastLoss = "last_loss"
    }

    public init(run: DynamicsRunKind, parameters: Int, steps: [Int], losses: [Double], learningRates: [Double], tokens: [Int]) {
        self.run = run
        self.parameters = parameters
        self.steps = steps
        self.losses = losses
        self.learningRates = learningRates
        self.tokens = tokens
        let k = (losses.count + 2) / 3
        if losses.count >= 2 {
            let first = losses.prefix(k).reduce(0, +) / Double(k), last = losses.suffix(k).reduce(0, +) / Double(k)
            stalled = last >= first
        } else {
            stalled = false
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(run: try c.decode(DynamicsRunKind.self, forKey: .run), parameters: try c.decode(Int.self, forKey: .parameters),
                  steps: try c.decode([Int].self, forKey: .steps), losses: try c.decode([Double].self, forKey: .losses),
                  learningRates: try c.decode([Double].self, forKey: .learningRates), tokens: try c.decode([Int].self, forKey: .tokens))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(steps, forKey: .steps)
        try c.encode(losses, forKey: .losses)
        try c.encode(learningRates, forKey: .learningRates)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(stalled, forKey: .stalled)
        try c.encode(firstLoss, forKey: .firstLoss)
        try c.encode(lastLoss, forKey: .lastLoss)
    }
}

/// What `verify --steps` reports: the curves, the loss at and after growth, spike and stall.
public struct TrainingDynamicsResult: Sendable, Hashable, Codable {
    public var batchSize: Int
    public var seqLen: Int
    /// Where every run started reading (GROWN's data cursor, or 0 when it lies beyond the data).
    public var dataCursor: Int
    public var source: DynamicsCurve
    public var grown: DynamicsCurve
    public var scratch: DynamicsCurve?
    /// SMALL's last `/history` entry (loss of its last update's batch), when it has one.
    public var historyLoss: Double?
    /// The loss at growth: SMALL's loss on the first batch (the source run's first loss), the
    /// same batch the grown model's first loss is measured on.
    public var lossAtGrowth: Double
    /// The grown model's first-step loss.
    public var lossAfterGrowth: Double
    /// Steps compared for a spike: the first `min(N, 5)`.
    public var spikeWindow: Int
    /// Largest `L'_k - L_k` (grown minus source, same batch) over the spike window, and its step index (0-based).
    public var worstExcess: Double
    public var worstExcessStep: Int
    /// The margin at that step: `max(0.05, 0.02 L_k)` nats.
    public var margin: Double
    /// Some `L'_k - L_k` in the window exceeds `max(0.05, 0.02 L_k)`.
    public var spiked: Bool
    /// The grown run does not decrease (``DynamicsCurve/stalled``).
    public var stalled: Bool
    /// With a scratch run: the first update (1-based) at which the grown run's loss is at or below
    /// the scratch run's last loss, or `nil` if it never is.
    public var grownReachesScratchAt: Int?

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", seqLen = "seq_len", dataCursor = "data_cursor", source, grown, scratch
        case historyLoss = "history_loss", lossAtGrowth = "loss_at_growth", lossAfterGrowth = "loss_after_growth"
        case spikeWindow = "spike_window", worstExcess = "worst_excess", worstExcessStep = "worst_excess_step", margin
        case spiked, stalled, grownReachesScratchAt = "grown_reaches_scratch_at"
    }

    /// The spike margin at a loss `L`: `max(0.05, 0.02 L)` nats (docs/VERIFY.md).
    public static func margin(at loss: Double) -> Double { max(0.05, 0.02 * loss) }
}
