import GrowkitState

extension DepthOperator {
    /// The stacking paper resets AdamW and restarts the schedule after G_stack
    /// (and for its other depth operators); identity blocks are the depth operator
    /// staged training intended, so they carry the state and re-warm.
    public var defaultOptimizer: OptimizerTransfer {
        if case .identity = self { return .carry }
        return .reset
    }

    public var defaultSchedule: ScheduleTransform {
        if case .identity = self { return .rewarm(step: nil, steps: 150) }
        return .restart
    }
}

extension WidthOperator {
    /// Function-preserving width growth carries the moments by the gradient-scale rule;
    /// staged training re-warms, MSG (random) rewinds to the peak, the others continue.
    public var defaultOptimizer: OptimizerTransfer { .carry }

    public var defaultSchedule: ScheduleTransform {
        switch self {
        case .staged: .rewarm(step: nil, steps: 150)
        case .random: .rewind
        case .duplicate, .zero, .split: .continue
        }
    }
}

extension GrowthPlan {
    /// The defaults when `--optimizer` or `--schedule` is not given: a reset if either
    /// operator resets; the depth operator's schedule when there is one, else the width's.
    public var defaultOptimizer: OptimizerTransfer {
        [depth?.defaultOptimizer, width?.defaultOptimizer].contains(.reset) ? .reset : .carry
    }

    public var defaultSchedule: ScheduleTransform {
        depth?.defaultSchedule ?? width?.defaultSchedule ?? .continue
    }

    /// What this growth did, for the provenance record.
    public func record(operators: [String], historyLength: Int? = nil) -> GrowthRecord {
        var new: [String] = [], partlyNew: [String] = [], copied: [String] = []
        for recipe in recipes {
            switch recipe.origin {
            case .new: new.append(recipe.spec.name)
            case .partlyNew: partlyNew.append(recipe.spec.name)
            case .copied: copied.append(recipe.spec.name)
            }
        }
        let sizes: [String: [Int]] = [
            "num_layers": [source.numLayers, grown.numLayers], "hidden_size": [source.hiddenSize, grown.hiddenSize],
            "intermediate_size": [source.intermediateSize, grown.intermediateSize],
            "num_heads": [source.numHeads, grown.numHeads], "num_kv_heads": [source.numKVHeads, grown.numKVHeads],
        ]
        let layerSources: [Int?] = layerOrigins.map { origin in
            if case .copy(let layer) = origin { return layer }
            return nil
        }
        return GrowthRecord(exact: isExact, operators: operators, sizes: sizes, layerSources: layerSources,
                            newTensors: new, partlyNewTensors: partlyNew, copiedTensors: copied, historyLength: historyLength)
    }

    /// The grown state's metadata: the grown config, the same AdamW hyperparameters,
    /// the schedule and step after `schedule`, tokens and data cursor unchanged, the
    /// history kept and `record` appended to the provenance.
    public func grownMetadata(_ metadata: CheckpointMetadata, schedule: ScheduleTransform,
                              record: ProvenanceRecord) -> CheckpointMetadata {
        var grownMetadata = metadata
        grownMetadata.config = grown
        (grownMetadata.schedule, grownMetadata.trainer) = schedule.apply(
            schedule: metadata.schedule, trainer: metadata.trainer, depth: depth != nil, width: width != nil)
        grownMetadata.provenance.append(record)
        return grownMetadata
    }

    /// Makes every grown tensor, reading sources through `read` and handing each result
    /// to `write`, one component at a time: the recipes that share a source run together,
    /// so every source tensor is read once (depth growth copies a block several times), and
    /// at most one source tensor and one grown tensor are held, the caller streams the rest.
    ///
    /// - Parameters:
    ///   - components: which tensors to make (`[.value]` for a forward pass alone).
    ///   - read: one component of a source parameter (dotted name).
    ///   - sourceOptimizerState: a source parameter's AdamW step and weight-decay flag.
    ///   - write: a grown tensor, with the grown parameter's step and decay flag.
    public func run<Failure: Error>(
        optimizer: OptimizerTransfer,
        components: [TensorComponent] = TensorComponent.allCases,
        read: (String, TensorComponent) throws(Failure) -> Tensor,
        sourceOptimizerState: (String) throws(Failure) -> (step: Int, applyWeightDecay: Bool),
        write: (TensorRecipe, TensorComponent, Tensor, _ step: Int, _ applyWeightDecay: Bool) throws(Failure) -> Void
    ) throws(Failure) {
        var groups: [[TensorRecipe]] = []
        var groupOfSource: [String: Int] = [:]
        for recipe in recipes {
            if let source = recipe.source, let index = groupOfSource[source] {
                groups[index].append(recipe)
            } else {
                if let source = recipe.source { groupOfSource[source] = groups.count }
                groups.append([recipe])
            }
        }
        for group in groups {
            let source = group[0].source
            let state = try source.map { name throws(Failure) in try sourceOptimizerState(name) }
            for component in components {
                let sourceTensor = try source.map { name throws(Failure) in try read(name, component) }
                for recipe in group {
                    var reference: Tensor? = nil
                    if component == .value, recipe.fill == .random, let name = recipe.randomReference {
                        reference = name == source ? sourceTensor : try read(name, .value)
                    }
                    let tensor = recipe.make(component, from: sourceTensor, reference: reference, optimizer: optimizer)
                    try write(recipe, component, tensor, recipe.step(sourceStep: state?.step, optimizer: optimizer),
                              recipe.applyWeightDecay(source: state?.applyWeightDecay))
                }
            }
        }
    }
}

extension GrowthPlan {
    /// The whole grown state in memory (small models: tests, the demo), through the same
    /// ``run(optimizer:components:read:sourceOptimizerState:write:)`` that streams large ones.
    public func apply(to state: TrainingState, optimizer: OptimizerTransfer, schedule: ScheduleTransform,
                      record: ProvenanceRecord) -> TrainingState {
        var made: [String: [TensorComponent: Tensor]] = [:]
        var steps: [String: (step: Int, applyWeightDecay: Bool)] = [:]
        func read(_ name: String, _ component: TensorComponent) -> Tensor {
            switch component {
            case .value: state.parameters[name]!
            case .expAvg: state.optimizerState[name]!.expAvg
            case .expAvgSq: state.optimizerState[name]!.expAvgSq
            }
        }
        run(optimizer: optimizer, read: read,
            sourceOptimizerState: { (state.optimizerState[$0]!.step, state.optimizerState[$0]!.applyWeightDecay) },
            write: { recipe, component, tensor, step, decay in
                made[recipe.spec.name, default: [:]][component] = tensor
                steps[recipe.spec.name] = (step, decay)
            })
        var parameters: [String: Tensor] = [:]
        var optimizerState: [String: AdamParameterState] = [:]
        for (name, tensors) in made {
            parameters[name] = tensors[.value]!
            optimizerState[name] = AdamParameterState(expAvg: tensors[.expAvg]!, expAvgSq: tensors[.expAvgSq]!,
                                                      step: steps[name]!.step, applyWeightDecay: steps[name]!.applyWeightDecay)
        }
        return TrainingState(metadata: grownMetadata(state.metadata, schedule: schedule, record: record),
                             parameters: parameters, optimizerState: optimizerState)
    }
}

extension GrowthPlan {
    /// The plan a `grow` provenance record describes, rebuilt from its operators and seed
    /// for a source of config `source`: the same recipes (and so the same sources and
    /// gradient scales per entry) `grow` used. `verify --gradients` checks against it.
    public init(replaying record: ProvenanceRecord, source: ModelConfig) throws(GrowthError) {
        guard record.operatorName == "grow", let growth = record.growth else {
            throw .impossible("the provenance record is '\(record.operatorName)', not a growth recorded by growkit grow")
        }
        var depth: DepthOperator? = nil, width: WidthOperator? = nil
        for entry in growth.operators {
            if entry.hasPrefix("depth=") { depth = try OperatorSyntax.depth(String(entry.dropFirst(6))) }
            else if entry.hasPrefix("width=") { width = try OperatorSyntax.width(String(entry.dropFirst(6))) }
            else { throw .impossible("the growth record's operator '\(entry)' is neither depth=... nor width=...") }
        }
        var seed: UInt64 = 0
        if case .number(let value)? = record.arguments["seed"], value >= 0, value < 0x1p64, value == value.rounded() {
            seed = UInt64(value)
        }
        try self.init(source: source, depth: depth, width: width, seed: seed)
    }
}
