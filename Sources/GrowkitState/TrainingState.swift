/// Everything of a checkpoint except the tensors: the part a reader validates
/// and exposes before any tensor is read, and a writer writes first.
public struct CheckpointMetadata: Sendable, Hashable {
    public var config: ModelConfig
    public var optimizer: AdamWHyperparameters
    public var schedule: Schedule
    public var trainer: TrainerPosition
    public var history: TrainingHistory
    /// Oldest first.
    public var provenance: [ProvenanceRecord]
    /// A weights-only state (docs/FORMAT.md): the file has no `/optimizer`, `/schedule`,
    /// `/trainer` or `/history`; ``optimizer``, ``schedule``, ``trainer`` and ``history``
    /// then hold the defaults of ``weightsOnly(config:provenance:)``, not stored values.
    public var weightsOnly: Bool

    public init(config: ModelConfig, optimizer: AdamWHyperparameters, schedule: Schedule,
                trainer: TrainerPosition, history: TrainingHistory = TrainingHistory(),
                provenance: [ProvenanceRecord] = [], weightsOnly: Bool = false) {
        self.weightsOnly = weightsOnly
        self.config = config
        self.optimizer = optimizer
        self.schedule = schedule
        self.trainer = trainer
        self.history = history
        self.provenance = provenance
    }

    /// The metadata of a weights-only state: default AdamW hyperparameters
    /// (``AdamWHyperparameters/init()``), a constant schedule at that learning rate, a
    /// trainer at step 0 with no RNG state, an empty history.
    public static func weightsOnly(config: ModelConfig, provenance: [ProvenanceRecord] = []) -> CheckpointMetadata {
        let optimizer = AdamWHyperparameters()
        return CheckpointMetadata(
            config: config, optimizer: optimizer,
            schedule: Schedule(kind: .constant, peakLR: optimizer.lr, minLR: optimizer.lr, warmupSteps: 0, totalSteps: 0),
            trainer: TrainerPosition(step: 0, tokensSeen: 0, batchSize: 1, seqLen: config.maxPosition, seed: 0, dataCursor: 0,
                                     rngState: [], generator: "none"),
            history: TrainingHistory(), provenance: provenance, weightsOnly: true)
    }

    /// The first problem of the non-config parts as a sentence fragment naming
    /// the group and attribute (e.g. `/schedule attribute rewarm_steps is 0; ...`), or `nil`.
    public func problem() -> String? {
        if let problem = optimizer.problem() { return "/optimizer: \(problem)" }
        if let problem = schedule.problem() { return "/schedule: \(problem)" }
        if let problem = trainer.problem() { return "/trainer: \(problem)" }
        if let problem = history.problem() { return "/history: \(problem)" }
        for (index, record) in provenance.enumerated() where ProvenanceRecord(jsonString: record.jsonString()) != record {
            return "/provenance record \(index) (\(record.operatorName)) does not survive JSON (a non-finite number?)"
        }
        return nil
    }
}

/// A whole training state in memory: model config, every parameter and its
/// AdamW state, the schedule, the trainer position, the history and the provenance.
///
/// Tensors are keyed by the dotted Hugging Face name of ``ParameterSpec/name``;
/// the canonical order is that of `config.parameters()` (``orderedNames``).
/// For models too large for memory use ``CheckpointReader`` and ``CheckpointWriter``,
/// which stream one tensor at a time.
public struct TrainingState: Sendable {
    public var config: ModelConfig
    public var optimizer: AdamWHyperparameters
    public var schedule: Schedule
    public var trainer: TrainerPosition
    public var history: TrainingHistory
    public var provenance: [ProvenanceRecord]
    /// Parameter values by dotted name.
    public var parameters: [String: Tensor]
    /// AdamW state (exp_avg, exp_avg_sq, step, decay flag) by dotted name.
    /// For a weights-only state: fresh (zero moments, step 0).
    public var optimizerState: [String: AdamParameterState]
    /// Whether this state came from, and is written as, a weights-only file (``CheckpointMetadata/weightsOnly``).
    public var weightsOnly: Bool

    public init(metadata: CheckpointMetadata, parameters: [String: Tensor], optimizerState: [String: AdamParameterState]) {
        self.config = metadata.config
        self.optimizer = metadata.optimizer
        self.schedule = metadata.schedule
        self.trainer = metadata.trainer
        self.history = metadata.history
        self.provenance = metadata.provenance
        self.weightsOnly = metadata.weightsOnly
        self.parameters = parameters
        self.optimizerState = optimizerState
    }

    public var metadata: CheckpointMetadata {
        CheckpointMetadata(config: config, optimizer: optimizer, schedule: schedule, trainer: trainer,
                           history: history, provenance: provenance, weightsOnly: weightsOnly)
    }

    /// Parameter names in canonical order (embeddings, blocks, final norm, head).
    public var orderedNames: [String] { config.parameters().map(\.name) }

    /// The first mismatch between the tensors and `config.parameters()`
    /// (missing, extra, wrong shape, moments of the wrong shape), as a phrase, or `nil`.
    public func problem() -> String? {
        let specs = config.parameters()
        let expected = Set(specs.map(\.name))
        if let extra = parameters.keys.sorted().first(where: { !expected.contains($0) }) {
            return "parameter \(extra) is not in the parameter table of this config"
        }
        if let extra = optimizerState.keys.sorted().first(where: { !expected.contains($0) }) {
            return "optimizer state \(extra) is not in the parameter table of this config"
        }
        for spec in specs {
            guard let value = parameters[spec.name] else { return "parameter \(spec.name) is missing" }
            if value.shape != spec.shape {
                return "parameter \(spec.name) has shape \(value.shape) but the config implies \(spec.shape)"
            }
            guard let moments = optimizerState[spec.name] else { return "optimizer state of \(spec.name) is missing" }
            if moments.expAvg.shape != spec.shape || moments.expAvgSq.shape != spec.shape {
                return "the moments of \(spec.name) have shapes \(moments.expAvg.shape), \(moments.expAvgSq.shape) but the config implies \(spec.shape)"
            }
            if moments.step < 0 { return "the step of \(spec.name) is \(moments.step); it must be >= 0" }
        }
        return nil
    }
}
