import GrowkitState
import GrowkitStorage

/// A model state as every reading command accepts it (`inspect`, `eval`, `verify`, `diff`,
/// `grow`): a growkit checkpoint (full or weights-only), or a Hugging Face folder or
/// `.safetensors` file, read as a weights-only state (docs/HUGGINGFACE.md). One config,
/// parameters streamed one at a time, moments only from a full checkpoint.
public enum StateSource {
    case checkpoint(CheckpointReader)
    case huggingFace(HuggingFaceModel)

    /// Opens `path`: a folder, `.safetensors` file or index as a Hugging Face model
    /// (``HuggingFaceConversion/isHuggingFace(_:)``), anything else as a growkit checkpoint.
    public init(path: String) throws(HuggingFaceError) {
        if HuggingFaceConversion.isHuggingFace(path) {
            self = .huggingFace(try HuggingFaceModel(path: path))
        } else {
            do {
                self = .checkpoint(try CheckpointReader(path: path))
            } catch {
                throw .state(error)
            }
        }
    }

    /// The path as given.
    public var path: String {
        switch self {
        case .checkpoint(let reader): reader.path
        case .huggingFace(let model): model.path
        }
    }

    public var config: ModelConfig {
        switch self {
        case .checkpoint(let reader): reader.config
        case .huggingFace(let model): model.config
        }
    }

    /// Whether the state has no optimizer state (a weights-only checkpoint or any Hugging Face model).
    public var isWeightsOnly: Bool {
        switch self {
        case .checkpoint(let reader): reader.isWeightsOnly
        case .huggingFace: true
        }
    }

    /// The checkpoint's metadata, or for a Hugging Face model the weights-only defaults
    /// (``CheckpointMetadata/weightsOnly(config:provenance:)``) with the records of a
    /// `growkit_provenance.json` beside its config.json, when there is one.
    public var metadata: CheckpointMetadata {
        switch self {
        case .checkpoint(let reader): reader.metadata
        case .huggingFace(let model):
            CheckpointMetadata.weightsOnly(config: model.config, provenance: HuggingFaceProvenance.read(besides: model.configPath))
        }
    }

    /// The provenance records (a Hugging Face model's `growkit_provenance.json`, else none).
    public var provenance: [ProvenanceRecord] { metadata.provenance }

    /// float32 bytes of every parameter value: what ``parameters()`` allocates.
    public var parameterBytes: Int { 4 * config.parameterCount }

    /// Refuses, with one sentence, when `bytes` exceed what this process can still allocate.
    public func requireMemory(_ bytes: Int, for what: String) throws(HuggingFaceError) {
        let available = SystemMemory.availableBytes()
        if bytes > available {
            throw .state(.insufficientMemory(file: path, what: what, neededBytes: bytes, availableBytes: available))
        }
    }

    /// The SHA-256 provenance records name a source by: of the file for a checkpoint, of the
    /// model's files for a Hugging Face model (``HuggingFaceConversion/checksum(_:)``).
    public func checksum() throws(HuggingFaceError) -> String {
        switch self {
        case .checkpoint(let reader):
            do { return try SHA256.hex(ofFile: reader.path) } catch { throw .state(error) }
        case .huggingFace(let model):
            return try HuggingFaceConversion.checksum(model)
        }
    }

    /// Parameter `name` (dotted) as float32.
    public func parameter(named name: String) throws(HuggingFaceError) -> Tensor {
        switch self {
        case .checkpoint(let reader):
            do { return try reader.parameter(named: name) } catch { throw .state(error) }
        case .huggingFace(let model):
            return try model.parameter(named: name)
        }
    }

    /// Every parameter in canonical order, one at a time.
    public func forEachParameter(_ body: (ParameterSpec, Tensor) throws(HuggingFaceError) -> Void) throws(HuggingFaceError) {
        switch self {
        case .checkpoint(let reader):
            let infos = reader.tensors.filter { $0.role == .parameter }
            var failure: HuggingFaceError? = nil
            do throws(StateError) {
                try reader.forEachTensor(infos) { info, tensor throws(StateError) in
                    let spec = try reader.spec(named: info.parameter)
                    do throws(HuggingFaceError) {
                        try body(spec, tensor)
                    } catch {
                        // Stops the stream; the caller's own error is rethrown below.
                        failure = error
                        throw .unknownParameter(file: reader.path, name: info.parameter)
                    }
                }
            } catch {
                throw failure ?? .state(error)
            }
        case .huggingFace(let model):
            try model.forEachParameter(body)
        }
    }

    /// Every parameter value by dotted name.
    public func parameters() throws(HuggingFaceError) -> [String: Tensor] {
        if case .checkpoint(let reader) = self {
            do { return try reader.parameters() } catch { throw .state(error) }
        }
        var parameters: [String: Tensor] = [:]
        try forEachParameter { spec, tensor throws(HuggingFaceError) in parameters[spec.name] = tensor }
        return parameters
    }

    /// The whole state in memory; weights-only states get fresh AdamW state (``CheckpointReader/readAll()``).
    public func readAll() throws(HuggingFaceError) -> TrainingState {
        switch self {
        case .checkpoint(let reader):
            do { return try reader.readAll() } catch { throw .state(error) }
        case .huggingFace(let model):
            let parameters = try parameters()
            var optimizerState: [String: AdamParameterState] = [:]
            for spec in model.specs {
                let zero = Tensor(zeros: spec.shape)
                optimizerState[spec.name] = AdamParameterState(expAvg: zero, expAvgSq: zero, step: 0,
                                                               applyWeightDecay: spec.defaultWeightDecay)
            }
            return TrainingState(metadata: metadata, parameters: parameters, optimizerState: optimizerState)
        }
    }
}
