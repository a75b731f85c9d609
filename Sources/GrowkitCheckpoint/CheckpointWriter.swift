import GrowkitState
import GrowkitStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a format v1 checkpoint atomically and one tensor at a time.
///
/// `init` creates a temporary file next to the destination (GrowkitStorage's
/// `AtomicHDF5Writer`) and writes every non-tensor part: root attributes,
/// `/config`, `/optimizer`, `/schedule`, `/trainer`, `/history`; `/provenance/records` is
/// written by ``commit()`` (``setProvenance(_:)`` may replace it until then).
/// Then ``write(parameter:value:state:)`` writes one parameter with its two
/// moments, in any order. ``commit()`` refuses while a parameter of the table
/// is missing; otherwise it fsyncs and renames the file onto its final name.
/// A writer dropped without `commit()` (an error, a thrown check) deletes its
/// temporary file: the final name never holds a half-written checkpoint.
///
/// Tensors are chunked (about 1 MiB along the first axis), fletcher32 on every
/// chunk, zstd (filter 32015) first when `options.zstdLevel` is set. With
/// `parametersAsBFloat16` the parameters are stored as uint16 bfloat16 (round
/// to nearest even) with attribute `dtype = "bfloat16"`; moments stay float32.
/// A weights-only writer (`options.weightsOnly` or `metadata.weightsOnly`) writes no
/// `/optimizer`, `/schedule`, `/trainer` or `/history` and takes values only.
public final class CheckpointWriter {
    public struct Options: Sendable, Hashable {
        /// zstd level 1...22, or `nil` for no compression.
        public var zstdLevel: Int?
        /// Store parameters as bfloat16 (moments stay float32).
        public var parametersAsBFloat16: Bool
        /// Whether `commit()` may replace an existing file at the destination.
        public var overwrite: Bool
        /// Write a weights-only state (docs/FORMAT.md): `/config`, `/params` and `/provenance`
        /// only, no moments. Also implied by `metadata.weightsOnly`.
        public var weightsOnly: Bool

        public init(zstdLevel: Int? = nil, parametersAsBFloat16: Bool = false, overwrite: Bool = false,
                    weightsOnly: Bool = false) {
            self.zstdLevel = zstdLevel
            self.parametersAsBFloat16 = parametersAsBFloat16
            self.overwrite = overwrite
            self.weightsOnly = weightsOnly
        }
    }

    /// The final path, as given.
    public let path: String
    public let metadata: CheckpointMetadata
    public let options: Options
    /// Whether this writer writes a weights-only state (`options.weightsOnly` or `metadata.weightsOnly`).
    public var weightsOnly: Bool { metadata.weightsOnly }
    private let writer: AtomicHDF5Writer
    private let specs: [String: ParameterSpec]
    private var written: Set<Written> = []
    private var committed = false
    /// Bytes handed to HDF5 since writeback last started.
    private var unsyncedBytes = 0
    private static let writebackInterval = 32 << 20

    /// The temporary file being written until `commit()`.
    public var temporaryPath: String { writer.temporaryPath }

    /// Starts a checkpoint at `path`. `inputPath` is the file the state was read
    /// from, if any: a writer refuses an output that resolves to it (the input is
    /// never opened for writing, nor replaced).
    public init(path: String, metadata: CheckpointMetadata, options: Options = Options(), inputPath: String? = nil,
                toolVersion: String = "unknown") throws(StateError) {
        do {
            try metadata.config.validate()
        } catch {
            throw .invalidWrite(file: path, object: "/config", problem: error.problem)
        }
        if let problem = metadata.problem() { throw .invalidWrite(file: path, object: "the metadata", problem: problem) }
        if let level = options.zstdLevel, !(1...22).contains(level) {
            throw .invalidWrite(file: path, object: "the tensors", problem: "zstd level \(level) is outside 1...22")
        }
        if let inputPath, Self.sameFile(path, inputPath) { throw .outputIsInput(file: path) }
        var metadata = metadata
        if options.weightsOnly { metadata.weightsOnly = true }
        self.path = path
        self.metadata = metadata
        self.provenance = metadata.provenance
        self.options = options
        self.specs = Dictionary(uniqueKeysWithValues: metadata.config.parameters().map { ($0.name, $0) })
        do {
            writer = try AtomicHDF5Writer(destination: path, overwrite: options.overwrite)
        } catch {
            throw .storage(error)
        }
        // Uncompressed float32 values and both moments: what a full disk is told to free.
        // (The config was validated above, so the product cannot overflow.)
        writer.expectedBytes = (metadata.weightsOnly ? 4 : 12) * metadata.config.parameterCount
        try storage { () throws(StorageError) in try Self.writeMetadata(metadata, to: writer.file, toolVersion: toolVersion) }
    }

    deinit {
        if !committed { writer.abandon() }
    }

    /// Writes parameter `name` (dotted) and its AdamW state.
    public func write(parameter name: String, value: Tensor, state: AdamParameterState) throws(StateError) {
        for role in TensorRole.allCases where written.contains(Written(name: name, role: role)) {
            throw .invalidWrite(file: path, object: name, problem: "its \(role.rawValue) was already written; write each parameter once")
        }
        try write(.parameter, of: name, tensor: value)
        if weightsOnly { return }
        try write(.expAvg, of: name, tensor: state.expAvg, step: state.step, applyWeightDecay: state.applyWeightDecay)
        try write(.expAvgSq, of: name, tensor: state.expAvgSq)
    }

    /// Writes one tensor of parameter `name`: its value, exp_avg (with the parameter's AdamW
    /// `step` and weight-decay flag, stored as exp_avg's attributes) or exp_avg_sq. A stream
    /// that makes the three one after another holds one of them at a time.
    public func write(_ role: TensorRole, of name: String, tensor: Tensor, step: Int = 0,
                      applyWeightDecay: Bool = false) throws(StateError) {
        guard let spec = specs[name] else { throw .unknownParameter(file: path, name: name) }
        guard role == .parameter || !weightsOnly else {
            throw .invalidWrite(file: path, object: name, problem: "its \(role.rawValue) cannot be stored in a weights-only state")
        }
        guard !written.contains(Written(name: name, role: role)) else {
            throw .invalidWrite(file: path, object: name, problem: "its \(role.rawValue) was already written; write each tensor once")
        }
        guard tensor.shape == spec.shape else {
            throw .invalidWrite(file: path, object: name, problem: "\(role == .parameter ? "the value" : role.rawValue) has shape \(tensor.shape) but the config implies \(spec.shape)")
        }
        guard step >= 0 else {
            throw .invalidWrite(file: path, object: name, problem: "its step is \(step); it must be >= 0")
        }
        let file = writer.file
        // Writeback starts every 32 MB instead of all at commit's fsync, so the disk works while
        // the next tensors are made (growkit-bench convert, GPT-2 124M: 0.41-0.47 s -> 0.35-0.37 s).
        unsyncedBytes += tensor.data.count * (role == .parameter && options.parametersAsBFloat16 ? 2 : 4)
        if unsyncedBytes >= Self.writebackInterval {
            writer.startWriteback()
            unsyncedBytes = 0
        }
        let level = options.zstdLevel.map { Int32($0) }
        try storage { () throws(StorageError) in
            switch role {
            case .parameter where options.parametersAsBFloat16:
                let bits = BFloat16.bits(from: tensor.data)
                let dataset = try file.writeDataset(CheckpointLayout.parameterPath(spec), bits, shape: spec.shape,
                                                    options: Self.tensorOptions(spec, 2, level))
                try dataset.setAttribute("dtype", string: "bfloat16")
            case .parameter:
                try file.writeDataset(CheckpointLayout.parameterPath(spec), tensor.data, shape: spec.shape,
                                      options: Self.tensorOptions(spec, 4, level))
            case .expAvg:
                let expAvg = try file.writeDataset(CheckpointLayout.expAvgPath(spec), tensor.data, shape: spec.shape,
                                                   options: Self.tensorOptions(spec, 4, level))
                try expAvg.setAttribute("step", int: step)
                try expAvg.setAttribute("apply_weight_decay", bool: applyWeightDecay)
            case .expAvgSq:
                try file.writeDataset(CheckpointLayout.expAvgSqPath(spec), tensor.data, shape: spec.shape,
                                      options: Self.tensorOptions(spec, 4, level))
            }
        }
        written.insert(Written(name: name, role: role))
    }

    private struct Written: Hashable {
        var name: String
        var role: TensorRole
    }

    /// The provenance records `commit()` writes: `metadata.provenance` unless replaced, so a
    /// record can carry what was only known once the tensors were made (a verification
    /// result, a checksum computed meanwhile).
    public private(set) var provenance: [ProvenanceRecord]

    /// Replaces the provenance records to be written by `commit()`.
    public func setProvenance(_ records: [ProvenanceRecord]) throws(StateError) {
        var check = metadata
        check.provenance = records
        if let problem = check.problem() { throw .invalidWrite(file: path, object: "/provenance", problem: problem) }
        provenance = records
    }

    /// Names of the table not written yet, in canonical order.
    public var missingParameters: [String] {
        metadata.config.parameters().map(\.name).filter { name in
            (weightsOnly ? [.parameter] : TensorRole.allCases).contains { !written.contains(Written(name: name, role: $0)) }
        }
    }

    /// Checks that every parameter was written, then makes the file appear under
    /// its final name (flush, fsync, rename, fsync the folder). On any failure the
    /// temporary file is removed and nothing appears under the final name.
    public func commit() throws(StateError) {
        let missing = missingParameters
        guard missing.isEmpty else {
            writer.abandon()
            committed = true
            throw .incompleteCheckpoint(file: path, missing: missing)
        }
        let records = provenance.map { $0.jsonString() }
        try storage { () throws(StorageError) in try writer.file.writeStringDataset(CheckpointLayout.provenancePath, records) }
        committed = true
        try storage { () throws(StorageError) in try writer.commit() }
    }

    /// Deletes the temporary file; the destination is untouched. Idempotent.
    public func abandon() {
        committed = true
        writer.abandon()
    }

    /// Writes a whole in-memory state to `path` (small models; see the streaming API for large ones).
    public static func write(_ state: TrainingState, to path: String, options: Options = Options(), inputPath: String? = nil,
                             toolVersion: String = "unknown") throws(StateError) {
        if let problem = state.problem() { throw .invalidWrite(file: path, object: "the state", problem: problem) }
        let writer = try CheckpointWriter(path: path, metadata: state.metadata, options: options, inputPath: inputPath,
                                          toolVersion: toolVersion)
        for name in state.orderedNames {
            // problem() == nil guarantees both entries exist.
            guard let value = state.parameters[name], let moments = state.optimizerState[name] else { continue }
            try writer.write(parameter: name, value: value, state: moments)
        }
        try writer.commit()
    }

    // MARK: - internals

    private func storage<T>(_ body: () throws(StorageError) -> T) throws(StateError) -> T {
        do {
            return try body()
        } catch {
            committed = true
            throw .storage(writer.abandon(after: error))
        }
    }

    private static func tensorOptions(_ spec: ParameterSpec, _ elementSize: Int, _ zstdLevel: Int32?) -> DatasetOptions {
        DatasetOptions(chunkShape: DatasetOptions.chunkShape(for: spec.shape, elementSize: elementSize),
                       fletcher32: true, zstdLevel: zstdLevel)
    }

    /// Whether two paths name the same file: same device and inode when the
    /// output exists, else the same resolved folder and name.
    static func sameFile(_ output: String, _ input: String) -> Bool {
        var a = stat(), b = stat()
        if stat(output, &a) == 0, stat(input, &b) == 0 { return a.st_dev == b.st_dev && a.st_ino == b.st_ino }
        return resolved(output) == resolved(input)
    }

    private static func resolved(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let real = realpath(folder.isEmpty ? "/" : folder, nil) else { return path }
        defer { free(real) }
        return String(cString: real) + "/" + name
    }

    private static func writeMetadata(_ metadata: CheckpointMetadata, to file: HDF5File, toolVersion: String) throws(StorageError) {
        try file.setAttribute("format", string: CheckpointLayout.format)
        try file.setAttribute("format_version", int: CheckpointLayout.formatVersion)
        try file.setAttribute("growkit_version", string: toolVersion)

        let c = metadata.config
        let config = try file.createGroup("config")
        try config.setAttribute("family", string: c.family.rawValue)
        for (name, value) in [("vocab_size", c.vocabSize), ("hidden_size", c.hiddenSize), ("num_layers", c.numLayers),
                              ("num_heads", c.numHeads), ("num_kv_heads", c.numKVHeads), ("head_dim", c.headDim),
                              ("intermediate_size", c.intermediateSize), ("max_position", c.maxPosition)] {
            try config.setAttribute(name, int: value)
        }
        try config.setAttribute("norm", string: c.norm.rawValue)
        try config.setAttribute("norm_eps", double: c.normEps)
        try config.setAttribute("activation", string: c.activation.rawValue)
        try config.setAttribute("position", string: c.position.rawValue)
        try config.setAttribute("rope_theta", double: c.ropeTheta)
        try config.setAttribute("tie_embeddings", bool: c.tieEmbeddings)
        try config.setAttribute("attention_bias", bool: c.attentionBias)
        try config.setAttribute("mlp_bias", bool: c.mlpBias)

        try file.createGroup("params")
        try file.createGroup("provenance")
        if metadata.weightsOnly { return }
        let o = metadata.optimizer
        let optimizer = try file.createGroup("optimizer")
        try optimizer.setAttribute("type", string: "adamw")
        for (name, value) in [("lr", o.lr), ("beta1", o.beta1), ("beta2", o.beta2), ("eps", o.eps), ("weight_decay", o.weightDecay)] {
            try optimizer.setAttribute(name, double: value)
        }
        try file.createGroup("optimizer/exp_avg")
        try file.createGroup("optimizer/exp_avg_sq")

        let s = metadata.schedule
        let schedule = try file.createGroup("schedule")
        try schedule.setAttribute("kind", string: s.kind.rawValue)
        try schedule.setAttribute("peak_lr", double: s.peakLR)
        try schedule.setAttribute("min_lr", double: s.minLR)
        try schedule.setAttribute("warmup_steps", int: s.warmupSteps)
        try schedule.setAttribute("total_steps", int: s.totalSteps)
        if s.kind == .wsd { try schedule.setAttribute("decay_steps", int: s.decaySteps) }
        if let start = s.rewarmStart, let steps = s.rewarmSteps {
            try schedule.setAttribute("rewarm_start", int: start)
            try schedule.setAttribute("rewarm_steps", int: steps)
        }

        let t = metadata.trainer
        let trainer = try file.createGroup("trainer")
        for (name, value) in [("step", t.step), ("tokens_seen", t.tokensSeen), ("batch_size", t.batchSize),
                              ("seq_len", t.seqLen), ("seed", t.seed), ("data_cursor", t.dataCursor)] {
            try trainer.setAttribute(name, int: value)
        }
        let rng = try file.writeDataset(CheckpointLayout.rngStatePath, t.rngState, shape: [t.rngState.count])
        try rng.setAttribute("generator", string: t.generator)

        let h = metadata.history
        try file.createGroup("history")
        try file.writeDataset("/history/step", h.step.map { Int64($0) }, shape: [h.count])
        try file.writeDataset("/history/loss", h.loss, shape: [h.count])
        try file.writeDataset("/history/lr", h.lr, shape: [h.count])
        try file.writeDataset("/history/tokens", h.tokens.map { Int64($0) }, shape: [h.count])
    }
}
