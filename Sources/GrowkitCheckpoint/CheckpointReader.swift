import GrowkitState
import GrowkitStorage

/// Reads a format v1 checkpoint (docs/FORMAT.md), opened read-only.
///
/// `init` validates the whole structure before any tensor is allocated: root
/// `format`/`format_version`, every `/config` attribute and `config.validate()`
/// (which bounds every dimension by ``ModelConfig/Limits``), the optimizer,
/// schedule, trainer, history and provenance, and every tensor's presence,
/// rank, shape and element type against `config.parameters()`. Datasets below
/// `/params` and `/optimizer` that the table does not have are refused.
///
/// Metadata is then available without reading tensor data, and tensors are
/// read one at a time (``parameter(named:)``, ``moments(named:)``), so a reader
/// of a multi-GB file holds at most the tensor being read. Not thread-safe
/// (HDF5 handles): use one reader per thread.
public final class CheckpointReader {
    /// The path as given, used in messages.
    public let path: String
    public let formatVersion: Int
    /// Root attribute `growkit_version` (informational), when present.
    public let growkitVersion: String?
    public let metadata: CheckpointMetadata
    /// The parameter table of the config, in canonical order.
    public let specs: [ParameterSpec]
    /// Every stored tensor, per parameter in canonical order: value, exp_avg, exp_avg_sq.
    public let tensors: [StoredTensorInfo]

    /// Whether the file is a weights-only state (no `/optimizer`, `/schedule`, `/trainer`,
    /// `/history`): ``optimizer``, ``schedule``, ``trainer`` and ``history`` are then the
    /// defaults of ``CheckpointMetadata/weightsOnly(config:provenance:)``, and
    /// ``moments(named:)`` and ``momentAttributes(named:)`` throw.
    public var isWeightsOnly: Bool { metadata.weightsOnly }
    public var config: ModelConfig { metadata.config }
    public var optimizer: AdamWHyperparameters { metadata.optimizer }
    public var schedule: Schedule { metadata.schedule }
    public var trainer: TrainerPosition { metadata.trainer }
    public var history: TrainingHistory { metadata.history }
    public var provenance: [ProvenanceRecord] { metadata.provenance }

    let access: CheckpointAccess
    private let specsByName: [String: ParameterSpec]
    private let tensorsByPath: [String: StoredTensorInfo]
    /// `step` and `apply_weight_decay` of each parameter, from its exp_avg dataset.
    private let momentAttributes: [String: (step: Int, decay: Bool)]

    /// Opens `path` read-only and validates it; throws the first problem as one sentence.
    public init(path: String) throws(StateError) {
        let handle: HDF5File
        do {
            handle = try HDF5File.openReadOnly(path)
        } catch {
            throw .storage(error)
        }
        let access = CheckpointAccess(handle: handle, file: path)
        self.path = path
        self.access = access
        (formatVersion, growkitVersion) = try access.formatVersion()
        for group in CheckpointLayout.requiredGroups { _ = try access.requireGroup(group) }
        let weightsOnly = try access.isWeightsOnly()
        let config = try access.config()
        if weightsOnly {
            metadata = CheckpointMetadata.weightsOnly(config: config, provenance: try access.provenance())
        } else {
            metadata = CheckpointMetadata(
                config: config, optimizer: try access.optimizer(), schedule: try access.schedule(),
                trainer: try access.trainer(), history: try access.history(), provenance: try access.provenance())
        }
        specs = config.parameters()
        specsByName = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        var tensors: [StoredTensorInfo] = []
        var moments: [String: (step: Int, decay: Bool)] = [:]
        for spec in specs {
            tensors.append(try access.tensorInfo(CheckpointLayout.parameterPath(spec), spec, .parameter).info)
            if weightsOnly { continue }
            let (expAvgInfo, expAvg) = try access.tensorInfo(CheckpointLayout.expAvgPath(spec), spec, .expAvg)
            tensors.append(expAvgInfo)
            tensors.append(try access.tensorInfo(CheckpointLayout.expAvgSqPath(spec), spec, .expAvgSq).info)
            moments[spec.name] = (try access.int(expAvg, "step"), try access.bool(expAvg, "apply_weight_decay"))
        }
        let known = Set(tensors.map(\.path))
        for root in weightsOnly ? ["/params"] : ["/params", "/optimizer/exp_avg", "/optimizer/exp_avg_sq"] {
            try access.refuseUnknownDatasets(below: root, known: known)
        }
        self.tensors = tensors
        tensorsByPath = Dictionary(uniqueKeysWithValues: tensors.map { ($0.path, $0) })
        momentAttributes = moments
    }

    /// The value of parameter `name` (dotted), as float32 (bfloat16 is widened exactly).
    public func parameter(named name: String) throws(StateError) -> Tensor {
        try tensor(at: info(name, .parameter))
    }

    /// The AdamW state of parameter `name`: exp_avg, exp_avg_sq, step, decay flag.
    public func moments(named name: String) throws(StateError) -> AdamParameterState {
        if isWeightsOnly { throw .weightsOnly(file: path, asked: "Adam moments of \(name)") }
        guard let attributes = momentAttributes[name] else { throw .unknownParameter(file: path, name: name) }
        return AdamParameterState(expAvg: try tensor(at: info(name, .expAvg)), expAvgSq: try tensor(at: info(name, .expAvgSq)),
                                  step: attributes.step, applyWeightDecay: attributes.decay)
    }

    /// `step` and `apply_weight_decay` of parameter `name`, without reading its moments.
    public func momentAttributes(named name: String) throws(StateError) -> (step: Int, applyWeightDecay: Bool) {
        if isWeightsOnly { throw .weightsOnly(file: path, asked: "AdamW step or weight-decay flag of \(name)") }
        guard let attributes = momentAttributes[name] else { throw .unknownParameter(file: path, name: name) }
        return (attributes.step, attributes.decay)
    }

    /// The stored-tensor metadata of one role of parameter `name`.
    public func info(_ name: String, _ role: TensorRole) throws(StateError) -> StoredTensorInfo {
        guard let spec = specsByName[name] else { throw .unknownParameter(file: path, name: name) }
        if role != .parameter && isWeightsOnly { throw .weightsOnly(file: self.path, asked: "\(role.rawValue) of \(name)") }
        let path = switch role {
        case .parameter: CheckpointLayout.parameterPath(spec)
        case .expAvg: CheckpointLayout.expAvgPath(spec)
        case .expAvgSq: CheckpointLayout.expAvgSqPath(spec)
        }
        guard let info = tensorsByPath[path] else { throw .unknownParameter(file: self.path, name: name) }
        return info
    }

    /// Reads one stored tensor (any entry of ``tensors``) as float32.
    public func tensor(at info: StoredTensorInfo) throws(StateError) -> Tensor {
        let dataset = try access.requireDataset(info.path)
        return try tensor(info, float32: { () throws(StorageError) in try dataset.read(Float.self) },
                          bfloat16Bits: { () throws(StorageError) in try dataset.read(UInt16.self) })
    }

    /// Stored tensor `info` as float32, its data read by `float32` or `bfloat16Bits` (whichever
    /// its element type says; bfloat16 is widened exactly).
    func tensor(
        _ info: StoredTensorInfo, float32: () throws(StorageError) -> [Float],
        bfloat16Bits: () throws(StorageError) -> [UInt16]
    ) throws(StateError) -> Tensor {
        let data: [Float]
        switch info.elementType {
        case .float32:
            data = try access.storage(float32)
        case .bfloat16:
            data = BFloat16.floats(fromBits: try access.storage(bfloat16Bits))
        }
        guard data.count == info.elementCount else {
            throw .wrongShape(file: path, object: info.path, found: [data.count], expected: info.shape)
        }
        return Tensor(shape: info.shape, data: data)
    }

    /// Rows `rows` (first axis) of one stored tensor as float32, row-major:
    /// `rows.count * (elementCount / shape[0])` values. For streaming tensors too
    /// large to hold whole (e.g. a 128k-row embedding, slab by slab).
    public func tensorRows(at info: StoredTensorInfo, rows: Range<Int>) throws(StateError) -> [Float] {
        guard let first = info.shape.first, rows.lowerBound >= 0, rows.upperBound <= first else {
            throw .invalidValue(file: path, object: info.path,
                                problem: "has \(info.shape.first ?? 0) rows; rows \(rows) are out of range")
        }
        let dataset = try access.requireDataset(info.path)
        switch info.elementType {
        case .float32:
            return try access.storage { () throws(StorageError) in try dataset.readRows(rows, as: Float.self) }
        case .bfloat16:
            let bits = try access.storage { () throws(StorageError) in try dataset.readRows(rows, as: UInt16.self) }
            return BFloat16.floats(fromBits: bits)
        }
    }

    /// The spec of parameter `name` (dotted) in this file's config.
    public func spec(named name: String) throws(StateError) -> ParameterSpec {
        guard let spec = specsByName[name] else { throw .unknownParameter(file: path, name: name) }
        return spec
    }

    /// The whole state in memory. For small models; large ones stream with
    /// ``parameter(named:)`` and ``moments(named:)``. A weights-only state comes with fresh
    /// AdamW state: zero moments, step 0, each parameter's default weight-decay flag
    /// (``ParameterSpec/defaultWeightDecay``), and the default metadata of ``isWeightsOnly``.
    public func readAll() throws(StateError) -> TrainingState {
        try requireMemory(3 * parameterBytes, for: "reading the whole state (parameters and both moments, float32)")
        if isWeightsOnly {
            let parameters = try parameters()
            var optimizerState: [String: AdamParameterState] = [:]
            for spec in specs {
                let zero = Tensor(zeros: spec.shape)
                optimizerState[spec.name] = AdamParameterState(expAvg: zero, expAvgSq: zero, step: 0,
                                                               applyWeightDecay: spec.defaultWeightDecay)
            }
            return TrainingState(metadata: metadata, parameters: parameters, optimizerState: optimizerState)
        }
        var parameters: [String: Tensor] = [:], expAvg: [String: Tensor] = [:], expAvgSq: [String: Tensor] = [:]
        try forEachTensor(tensors) { info, tensor throws(StateError) in
            switch info.role {
            case .parameter: parameters[info.parameter] = tensor
            case .expAvg: expAvg[info.parameter] = tensor
            case .expAvgSq: expAvgSq[info.parameter] = tensor
            }
        }
        var optimizerState: [String: AdamParameterState] = [:]
        for spec in specs {
            guard let attributes = momentAttributes[spec.name], let m = expAvg[spec.name], let v = expAvgSq[spec.name] else {
                throw .unknownParameter(file: path, name: spec.name)
            }
            optimizerState[spec.name] = AdamParameterState(expAvg: m, expAvgSq: v, step: attributes.step,
                                                           applyWeightDecay: attributes.decay)
        }
        return TrainingState(metadata: metadata, parameters: parameters, optimizerState: optimizerState)
    }

    /// Every parameter value, keyed by dotted name, without the Adam moments
    /// (a third of the bytes): what a forward pass needs.
    public func parameters() throws(StateError) -> [String: Tensor] {
        try requireMemory(parameterBytes, for: "reading every parameter")
        var parameters: [String: Tensor] = [:]
        try forEachTensor(tensors.filter { $0.role == .parameter }) { info, tensor throws(StateError) in
            parameters[info.parameter] = tensor
        }
        return parameters
    }

    /// float32 bytes of every parameter value: what ``parameters()`` allocates.
    /// (The config is validated, so the sum cannot overflow.)
    public var parameterBytes: Int { 4 * config.parameterCount }

    /// Refuses, with one sentence, when `bytes` exceed what this process can still
    /// allocate (``SystemMemory``): a sparse file can declare a model of any size
    /// the config allows, and a failed allocation is a crash, not an error.
    public func requireMemory(_ bytes: Int, for what: String) throws(StateError) {
        let available = SystemMemory.availableBytes()
        if bytes > available {
            throw .insufficientMemory(file: path, what: what, neededBytes: bytes, availableBytes: available)
        }
    }

    /// Total bytes of tensor data before compression, and as stored.
    public var tensorBytes: (raw: Int, stored: Int) {
        tensors.reduce((0, 0)) { ($0.0 + $1.rawBytes, $0.1 + $1.storedBytes) }
    }
}

extension CheckpointAccess {
    /// Validates one tensor dataset against its spec, without reading data; returns its metadata and the open dataset.
    func tensorInfo(_ path: String, _ spec: ParameterSpec, _ role: TensorRole) throws(StateError) -> (info: StoredTensorInfo, dataset: HDF5Dataset) {
        let dataset = try requireDataset(path)
        let info = try storage { () throws(StorageError) in try dataset.info() }
        guard info.shape == spec.shape else {
            throw .wrongShape(file: file, object: path, found: info.shape, expected: spec.shape)
        }
        let elementType: StoredElementType
        if info.elementType.matches(.float32) {
            elementType = .float32
        } else if role == .parameter, info.elementType.matches(.uint16),
                  try storage({ () throws(StorageError) in try dataset.hasAttribute("dtype") }),
                  try string(dataset, "dtype") == "bfloat16" {
            elementType = .bfloat16
        } else {
            let expected = role == .parameter ? "float32 (or uint16 with attribute dtype = \"bfloat16\")" : "float32"
            throw .wrongType(file: file, object: path, expected: expected, found: "\(info.elementType)")
        }
        let storedBytes = try storage { () throws(StorageError) in try dataset.storageSize() }
        let stored = StoredTensorInfo(
            path: path, parameter: spec.name, role: role, shape: info.shape, elementType: elementType,
            chunkShape: info.chunkShape, zstdLevel: info.zstdLevel.map { Int($0) }, fletcher32: info.fletcher32,
            storedBytes: Int(clamping: storedBytes))
        return (stored, dataset)
    }

    /// Refuses any dataset below `root` that is not in `known` (a parameter the config does not have).
    func refuseUnknownDatasets(below root: String, known: Set<String>) throws(StateError) {
        // Depth and count bounds guard against link cycles and absurd files.
        var pending: [(path: String, depth: Int)] = [(root, 0)]
        var visited = 0
        while let (group, depth) = pending.popLast() {
            let children = try storage { () throws(StorageError) in try handle.openGroup(group).children() }
            for child in children {
                visited += 1
                let path = group + "/" + child.name
                guard visited <= 1 << 22, depth < 64 else {
                    throw .invalidValue(file: file, object: root, problem: "holds more objects or nesting than any model has")
                }
                switch child.kind {
                case .group: pending.append((path, depth + 1))
                case .dataset: if !known.contains(path) { throw .unexpectedDataset(file: file, object: path) }
                case .other: throw .unexpectedDataset(file: file, object: path)
                }
            }
        }
    }
}
