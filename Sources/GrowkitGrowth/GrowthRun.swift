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
    public func record(operators: [String]) -> GrowthRecord {
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
                            newTensors: new, partlyNewTensors: partlyNew, copiedTensors: copied)
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

    /// Makes every grown tensor in canonical order, reading each one's source through
    /// `read` and handing the result to `write`: the caller streams, so at most a few
    /// tensors are in memory (the last source read is kept, since depth growth reads
    /// the same block's tensors again and a random fill's reference is usually its source).
    public func run<Failure: Error>(
        optimizer: OptimizerTransfer,
        read: (String) throws(Failure) -> (value: Tensor, state: AdamParameterState),
        write: (TensorRecipe, Tensor, AdamParameterState) throws(Failure) -> Void
    ) throws(Failure) {
        var cached: (name: String, tensors: (value: Tensor, state: AdamParameterState))? = nil
        func fetch(_ name: String) throws(Failure) -> (value: Tensor, state: AdamParameterState) {
            if let cached, cached.name == name { return cached.tensors }
            let tensors = try read(name)
            cached = (name, tensors)
            return tensors
        }
        for recipe in recipes {
            let source = try recipe.source.map { name throws(Failure) in try fetch(name) }
            var reference: Tensor? = nil
            if recipe.fill == .random, let name = recipe.randomReference {
                reference = name == recipe.source ? source?.value : try fetch(name).value
            }
            let (value, state) = recipe.apply(source: source, reference: reference, optimizer: optimizer)
            try write(recipe, value, state)
        }
    }
}

extension GrowthPlan {
    /// The whole grown state in memory (small models: tests, the demo). Large states
    /// stream with ``run(optimizer:read:write:)``.
    public func apply(to state: TrainingState, optimizer: OptimizerTransfer, schedule: ScheduleTransform,
                      record: ProvenanceRecord) -> TrainingState {
        var parameters: [String: Tensor] = [:]
        var optimizerState: [String: AdamParameterState] = [:]
        run(optimizer: optimizer, read: { name in (state.parameters[name]!, state.optimizerState[name]!) },
            write: { recipe, value, moments in
                parameters[recipe.spec.name] = value
                optimizerState[recipe.spec.name] = moments
            })
        return TrainingState(metadata: grownMetadata(state.metadata, schedule: schedule, record: record),
                             parameters: parameters, optimizerState: optimizerState)
    }
}
