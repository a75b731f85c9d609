import GrowkitState
import GrowkitStorage

/// Reading and validating every non-tensor part of a checkpoint. Only
/// attributes and small 1-D datasets are read (each bounded before it is read).
extension CheckpointAccess {
    /// Root attributes: `format` and `format_version` (refused when newer than 1).
    func formatVersion() throws(StateError) -> (version: Int, growkitVersion: String?) {
        let format = try string(handle, "format")
        guard format == CheckpointLayout.format else { throw .wrongFormat(file: file, found: format) }
        let version = try int(handle, "format_version", minimum: 1)
        guard version <= CheckpointLayout.formatVersion else {
            throw .unsupportedFormatVersion(file: file, found: version)
        }
        let hasVersion = try storage { () throws(StorageError) in try handle.hasAttribute("growkit_version") }
        return (version, hasVersion ? try string(handle, "growkit_version") : nil)
    }

    /// `/config`: every attribute present with its type, then `ModelConfig.validate()`
    /// (which bounds every dimension and tensor size before anything is allocated).
    func config() throws(StateError) -> ModelConfig {
        let group = try requireGroup("/config")
        let config = ModelConfig(
            family: try choice(group, "family", as: ModelConfig.Family.self),
            vocabSize: try int(group, "vocab_size", minimum: Int(Int64.min)),
            hiddenSize: try int(group, "hidden_size", minimum: Int(Int64.min)),
            numLayers: try int(group, "num_layers", minimum: Int(Int64.min)),
            numHeads: try int(group, "num_heads", minimum: Int(Int64.min)),
            numKVHeads: try int(group, "num_kv_heads", minimum: Int(Int64.min)),
            headDim: try int(group, "head_dim", minimum: Int(Int64.min)),
            intermediateSize: try int(group, "intermediate_size", minimum: Int(Int64.min)),
            maxPosition: try int(group, "max_position", minimum: Int(Int64.min)),
            norm: try choice(group, "norm", as: ModelConfig.Norm.self),
            normEps: try double(group, "norm_eps"),
            activation: try choice(group, "activation", as: ModelConfig.Activation.self),
            position: try choice(group, "position", as: ModelConfig.Position.self),
            ropeTheta: try double(group, "rope_theta"),
            tieEmbeddings: try bool(group, "tie_embeddings"),
            attentionBias: try bool(group, "attention_bias"),
            mlpBias: try bool(group, "mlp_bias"))
        do {
            try config.validate()
        } catch {
            throw .invalidConfigInFile(file: file, problem: error.problem)
        }
        return config
    }

    /// Whether the file is weights-only: no `/optimizer`. The training groups
    /// (``CheckpointLayout/trainingGroups``) are present together or not at all.
    func isWeightsOnly() throws(StateError) -> Bool {
        var present: [String] = []
        for group in CheckpointLayout.trainingGroups
        where try storage({ () throws(StorageError) in try handle.exists(group) }) {
            present.append(group)
        }
        if present.isEmpty { return true }
        if let missing = CheckpointLayout.trainingGroups.first(where: { !present.contains($0) }) {
            if present.contains("/optimizer") { throw .missingObject(file: file, object: missing, kind: "group") }
            throw .invalidValue(file: file, object: present[0],
                                problem: "is present without /optimizer; a weights-only state has none of /optimizer, /schedule, /trainer, /history and a full state has all of them")
        }
        return false
    }

    func optimizer() throws(StateError) -> AdamWHyperparameters {
        let group = try requireGroup("/optimizer")
        let type = try string(group, "type")
        guard type == "adamw" else {
            throw .invalidValue(file: file, object: attributeName(group, "type"), problem: "is '\(type)'; format v1 stores 'adamw' only")
        }
        let hyper = AdamWHyperparameters(
            lr: try double(group, "lr"), beta1: try double(group, "beta1"), beta2: try double(group, "beta2"),
            eps: try double(group, "eps"), weightDecay: try double(group, "weight_decay"))
        if let problem = hyper.problem() { throw .invalidValue(file: file, object: "/optimizer", problem: problem) }
        return hyper
    }

    func schedule() throws(StateError) -> Schedule {
        let group = try requireGroup("/schedule")
        let kind = try choice(group, "kind", as: Schedule.Kind.self)
        let schedule = Schedule(
            kind: kind, peakLR: try double(group, "peak_lr"), minLR: try double(group, "min_lr"),
            warmupSteps: try int(group, "warmup_steps"), totalSteps: try int(group, "total_steps"),
            decaySteps: kind == .wsd ? try int(group, "decay_steps") : 0,
            rewarmStart: try optionalInt(group, "rewarm_start"), rewarmSteps: try optionalInt(group, "rewarm_steps", minimum: 1))
        if let problem = schedule.problem() { throw .invalidValue(file: file, object: "/schedule", problem: problem) }
        return schedule
    }

    func trainer() throws(StateError) -> TrainerPosition {
        let group = try requireGroup("/trainer")
        let step = try int(group, "step"), tokensSeen = try int(group, "tokens_seen")
        let batchSize = try int(group, "batch_size"), seqLen = try int(group, "seq_len")
        let seed = try int(group, "seed"), dataCursor = try int(group, "data_cursor")
        let path = CheckpointLayout.rngStatePath
        _ = try vectorInfo(path, .uint8, maxCount: TrainerPosition.maxRNGStateBytes)
        let dataset = try requireDataset(path)
        let generator = try string(dataset, "generator")
        let bytes = try storage { () throws(StorageError) in try dataset.read(UInt8.self) }
        let position = TrainerPosition(step: step, tokensSeen: tokensSeen, batchSize: batchSize, seqLen: seqLen, seed: seed,
                                       dataCursor: dataCursor, rngState: bytes, generator: generator)
        if let problem = position.problem() { throw .invalidValue(file: file, object: "/trainer", problem: problem) }
        return position
    }

    func history() throws(StateError) -> TrainingHistory {
        _ = try requireGroup("/history")
        let limit = CheckpointLayout.maxLogEntries
        let columns: [(String, ElementType)] = [("step", .int64), ("loss", .float64), ("lr", .float64), ("tokens", .int64)]
        var lengths: [Int] = []
        for (name, type) in columns {
            let path = "/history/\(name)"
            let info = try vectorInfo(path, type, maxCount: limit)
            lengths.append(info.shape[0])
            // A few KB of file can declare millions of never-written entries (read
            // as fill values): every column must store what it declares, compressed or not.
            let dataset = try requireDataset(path)
            guard try storage({ () throws(StorageError) in try dataset.isFullyWritten() }) else {
                throw .invalidValue(file: file, object: path, problem: "declares \(info.shape[0]) entries but stores only part of them (never-written chunks)")
            }
        }
        guard Set(lengths).count == 1 else {
            throw .invalidValue(file: file, object: "/history", problem: "has datasets step, loss, lr, tokens of different lengths \(lengths); they must be equal")
        }
        let step = try storage { () throws(StorageError) in try handle.readDataset("/history/step", as: Int64.self) }
        let loss = try storage { () throws(StorageError) in try handle.readDataset("/history/loss", as: Double.self) }
        let lr = try storage { () throws(StorageError) in try handle.readDataset("/history/lr", as: Double.self) }
        let tokens = try storage { () throws(StorageError) in try handle.readDataset("/history/tokens", as: Int64.self) }
        let history = TrainingHistory(step: step.map { Int($0) }, loss: loss, lr: lr, tokens: tokens.map { Int($0) })
        if let problem = history.problem() { throw .invalidValue(file: file, object: "/history", problem: problem) }
        return history
    }

    func provenance() throws(StateError) -> [ProvenanceRecord] {
        _ = try requireGroup("/provenance")
        let path = CheckpointLayout.provenancePath
        let dataset = try requireDataset(path)
        let info = try storage { () throws(StorageError) in try dataset.info() }
        guard info.shape.count == 1, info.elementType.typeClass == .string else {
            throw .wrongType(file: file, object: path, expected: "a 1-D string dataset",
                             found: "a dataset of rank \(info.shape.count) of \(info.elementType)")
        }
        guard info.shape[0] <= 1 << 20 else {
            throw .invalidValue(file: file, object: path, problem: "has \(info.shape[0]) records, above the sane bound \(1 << 20)")
        }
        // Never-written records read as empty strings, one heap lookup each: a small
        // file could declare a million of them. Records must be stored to be read.
        guard try storage({ () throws(StorageError) in try dataset.isFullyWritten() }) else {
            throw .invalidValue(file: file, object: path, problem: "declares \(info.shape[0]) records but stores only part of them (never-written chunks)")
        }
        let strings = try storage { () throws(StorageError) in try dataset.readStrings(maxTotalBytes: CheckpointLayout.maxProvenanceBytes) }
        var records: [ProvenanceRecord] = []
        for (index, text) in strings.enumerated() {
            guard let record = ProvenanceRecord(jsonString: text) else {
                throw .invalidValue(file: file, object: "\(path)[\(index)]",
                                    problem: "is not a JSON object with keys operator, arguments, tool_version and time")
            }
            records.append(record)
        }
        return records
    }
}
