import GrowkitData
import GrowkitState

/// What `growkit train` was asked to do. Options left nil take the checkpoint's value on
/// resume and a documented default in a new run (docs/TRAINING.md).
public struct TrainingPlan: Sendable {
    public enum Start: Sendable {
        /// A new run of this model, initialised GPT-2 style from `seed`.
        case new(config: ModelConfig, seed: UInt64)
        /// Continue the checkpoint at `path`; `config` (when given) must equal its config.
        case resume(path: String, config: ModelConfig?)
    }

    /// Which tensors the optimizer updates.
    public enum TrainOnly: String, Sendable, CaseIterable {
        case all
        /// What the last growth added (its provenance record); the rest frozen, moments untouched.
        case new
    }

    public var start: Start
    public var dataPath: String
    public var dataFormat: TokenFileFormat?
    /// The last fraction of the data is held out for evaluation.
    public var validationFraction = 0.1
    /// The checkpoint written every `saveEvery` steps and at the end (atomically replaced).
    public var outputPath: String
    public var batchSize: Int?
    public var seqLen: Int?
    /// Micro-batches per update (gradient accumulation).
    public var accumulation = 1
    /// Train until the trainer's step count reaches this.
    public var steps: Int?
    /// Or until tokens seen reach this (whichever comes first).
    public var tokens: Int?
    public var evalEvery: Int?
    public var evalBatches = 4
    public var saveEvery: Int?
    /// Changes to the checkpoint's schedule (resume) or the default one (new run).
    public var scheduleChanges = ScheduleChanges()
    public var optimizerChanges = OptimizerChanges()
    public var maxGradNorm: Double? = 1.0
    public var trainOnly = TrainOnly.all
    public var zstdLevel: Int?
    public var toolVersion = "unknown"

    public init(start: Start, dataPath: String, outputPath: String) {
        self.start = start
        self.dataPath = dataPath
        self.outputPath = outputPath
    }
}

/// Options that replace single attributes of `/schedule` (nil: keep).
public struct ScheduleChanges: Sendable, Equatable {
    public var kind: Schedule.Kind?
    public var peakLR: Double?
    public var minLR: Double?
    public var warmupSteps: Int?
    public var totalSteps: Int?
    public var decaySteps: Int?
    public var rewarmStart: Int?
    public var rewarmSteps: Int?

    public init() {}

    public func applied(to base: Schedule) -> Schedule {
        var s = base
        if let kind { s.kind = kind }
        if let peakLR { s.peakLR = peakLR }
        if let minLR { s.minLR = minLR }
        if let warmupSteps { s.warmupSteps = warmupSteps }
        if let totalSteps { s.totalSteps = totalSteps }
        if let decaySteps { s.decaySteps = decaySteps }
        if let rewarmStart { s.rewarmStart = rewarmStart }
        if let rewarmSteps { s.rewarmSteps = rewarmSteps }
        return s
    }
}

/// Options that replace single AdamW hyperparameters (nil: keep).
public struct OptimizerChanges: Sendable, Equatable {
    public var beta1: Double?
    public var beta2: Double?
    public var eps: Double?
    public var weightDecay: Double?

    public init() {}

    public func applied(to base: AdamWHyperparameters) -> AdamWHyperparameters {
        var h = base
        if let beta1 { h.beta1 = beta1 }
        if let beta2 { h.beta2 = beta2 }
        if let eps { h.eps = eps }
        if let weightDecay { h.weightDecay = weightDecay }
        return h
    }
}

/// Reported as training goes, for the CLI to render.
public enum TrainingEvent: Sendable {
    /// `fraction`: of this run's steps done.
    case step(StepOutcome, tokensSeen: Int, tokensPerSecond: Double, secondsLeft: Double?, fraction: Double)
    case evaluated(step: Int, loss: Double)
    case saved(path: String, step: Int)
}

/// The end of a run (`growkit train --json`).
public struct TrainingSummary: Sendable, Codable, Equatable {
    public var checkpoint: String
    public var firstStep: Int
    public var lastStep: Int
    public var tokensSeen: Int
    public var finalLoss: Double?
    public var validationLoss: Double?
    public var seconds: Double
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case checkpoint, firstStep = "first_step", lastStep = "last_step", tokensSeen = "tokens_seen",
             finalLoss = "final_loss", validationLoss = "validation_loss", seconds, tokensPerSecond = "tokens_per_second"
    }
}
