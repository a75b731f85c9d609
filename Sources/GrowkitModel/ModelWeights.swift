import GrowkitState

/// Where each parameter lives in one flat float32 buffer (llm.c keeps all
/// parameters in one allocation the same way, so an optimizer or a gradient
/// buffer can use the same offsets and treat the whole model as one vector).
///
/// The order is ``ModelConfig/parameters()``'s canonical order with one change,
/// ``packingOrder(_:)``: the biases of `q_proj`, `k_proj` and `gate_proj` move
/// after `v_proj.weight` and `up_proj.weight`. Then each block's
/// `q_proj, k_proj, v_proj` weights form one `[qw + 2 kvw, C]` matrix (and their
/// biases one vector), and `gate_proj, up_proj` one `[2 I, C]` matrix, so the
/// forward pass runs each group as a single sgemm (llm.c's fused `qkv`).
public struct ParameterLayout: Sendable {
    public let specs: [ParameterSpec]
    /// `offsets[i]` is where `specs[i]` starts in the flat buffer.
    public let offsets: [Int]
    /// Total number of floats.
    public let count: Int
    private let indexByName: [String: Int]

    public init(config: ModelConfig) {
        specs = Self.packingOrder(config.parameters())
        var offsets: [Int] = []
        var running = 0
        var index: [String: Int] = [:]
        for (i, spec) in specs.enumerated() {
            offsets.append(running)
            running += spec.elementCount
            index[spec.name] = i
        }
        self.offsets = offsets
        self.count = running
        self.indexByName = index
    }

    /// `specs` with the biases of `q_proj`, `k_proj` (and `gate_proj`) held back until
    /// `v_proj.weight` (`up_proj.weight`) is placed; every other parameter keeps its place.
    /// Canonical `q.w, q.b, k.w, k.b, v.w, v.b` becomes `q.w, k.w, v.w, q.b, k.b, v.b`,
    /// and `gate.w, gate.b, up.w, up.b` becomes `gate.w, up.w, gate.b, up.b`.
    public static func packingOrder(_ specs: [ParameterSpec]) -> [ParameterSpec] {
        var ordered: [ParameterSpec] = []
        var heldBack: [ParameterSpec] = []
        for spec in specs {
            if spec.kind == .projectionBias && [.query, .key, .gate].contains(spec.module) {
                heldBack.append(spec)
                continue
            }
            ordered.append(spec)
            if spec.kind == .projectionWeight && (spec.module == .value || spec.module == .up) {
                ordered += heldBack
                heldBack = []
            }
        }
        return ordered + heldBack
    }

    /// Offset of the parameter named `name` (dotted HF name), or nil if the config has none.
    public func offset(of name: String) -> Int? { indexByName[name].map { offsets[$0] } }

    /// Index in `specs` of the parameter named `name`.
    public func index(of name: String) -> Int? { indexByName[name] }
}

/// Offsets (into the flat parameter buffer) of one decoder block's tensors.
/// Biases are `nil` when the config has none.
///
/// By ``ParameterLayout/packingOrder(_:)``, `kWeight = qWeight + qw * C`,
/// `vWeight = kWeight + kvw * C` (biases likewise), and `upWeight = gateWeight + I * C`
/// (biases likewise): `qWeight` starts the fused `[qw + 2 kvw, C]` projection and
/// `gateWeight` the fused `[2 I, C]` one.
public struct BlockOffsets: Sendable {
    public let norm1Weight: Int, norm1Bias: Int?
    public let qWeight: Int, qBias: Int?
    public let kWeight: Int, kBias: Int?
    public let vWeight: Int, vBias: Int?
    public let oWeight: Int, oBias: Int?
    public let norm2Weight: Int, norm2Bias: Int?
    public let gateWeight: Int?, gateBias: Int?
    public let upWeight: Int, upBias: Int?
    public let downWeight: Int, downBias: Int?
}

/// Offsets of the tensors outside the blocks.
public struct ModelOffsets: Sendable {
    public let tokenEmbedding: Int
    public let positionEmbedding: Int?
    public let blocks: [BlockOffsets]
    public let finalNormWeight: Int, finalNormBias: Int?
    /// `lm_head.weight`, or the token embedding when the head is tied.
    public let head: Int

    init(layout: ParameterLayout, config: ModelConfig) {
        // Every name below comes from the same table that built `layout`, so the lookups cannot fail
        // for names the config implies; optional ones are looked up optionally.
        func req(_ name: String) -> Int { layout.offset(of: name)! }
        func opt(_ name: String) -> Int? { layout.offset(of: name) }
        tokenEmbedding = req("model.embed_tokens.weight")
        positionEmbedding = opt("model.embed_positions.weight")
        blocks = (0..<config.numLayers).map { l in
            let p = "model.layers.\(l)."
            return BlockOffsets(
                norm1Weight: req(p + "input_layernorm.weight"), norm1Bias: opt(p + "input_layernorm.bias"),
                qWeight: req(p + "self_attn.q_proj.weight"), qBias: opt(p + "self_attn.q_proj.bias"),
                kWeight: req(p + "self_attn.k_proj.weight"), kBias: opt(p + "self_attn.k_proj.bias"),
                vWeight: req(p + "self_attn.v_proj.weight"), vBias: opt(p + "self_attn.v_proj.bias"),
                oWeight: req(p + "self_attn.o_proj.weight"), oBias: opt(p + "self_attn.o_proj.bias"),
                norm2Weight: req(p + "post_attention_layernorm.weight"),
                norm2Bias: opt(p + "post_attention_layernorm.bias"),
                gateWeight: opt(p + "mlp.gate_proj.weight"), gateBias: opt(p + "mlp.gate_proj.bias"),
                upWeight: req(p + "mlp.up_proj.weight"), upBias: opt(p + "mlp.up_proj.bias"),
                downWeight: req(p + "mlp.down_proj.weight"), downBias: opt(p + "mlp.down_proj.bias"))
        }
        finalNormWeight = req("model.norm.weight")
        finalNormBias = opt("model.norm.bias")
        head = opt("lm_head.weight") ?? tokenEmbedding
    }
}

/// A model's parameters, validated against its config and packed into one
/// flat float32 buffer (see ``ParameterLayout``).
public struct ModelWeights: Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let offsets: ModelOffsets
    /// All parameters, concatenated in ``ParameterLayout``'s order.
    public var values: [Float]
    /// How ``forward(tokens:targets:activations:)`` spreads its projection matmuls over the cores
    /// (``MatmulThreading``; the default was measured, the others give identical results).
    public var matmulThreading: MatmulThreading = Self.defaultMatmulThreading
    /// The measured default (see ``MatmulThreading``).
    public static let defaultMatmulThreading = MatmulThreading.splitRows

    /// Validates `parameters` (dotted HF names) against `config` and packs them.
    ///
    /// Throws ``ModelError/invalidConfig(_:)`` when the config fails validation,
    /// ``ModelError/missingParameter(name:)``, ``ModelError/unexpectedParameter(name:)``,
    /// ``ModelError/shapeMismatch(name:expected:actual:)`` and
    /// ``ModelError/nonFiniteWeight(name:index:value:)`` naming the tensor.
    public init(config: ModelConfig, parameters: [String: Tensor]) throws(ModelError) {
        do { try config.validate() } catch { throw .invalidConfig(error) }
        let layout = ParameterLayout(config: config)
        for spec in layout.specs {
            guard let tensor = parameters[spec.name] else { throw .missingParameter(name: spec.name) }
            guard tensor.shape == spec.shape, tensor.data.count == spec.elementCount else {
                throw .shapeMismatch(name: spec.name, expected: spec.shape, actual: tensor.shape)
            }
        }
        // Report extras in sorted order so the error is deterministic.
        for name in parameters.keys.sorted() where layout.index(of: name) == nil {
            throw .unexpectedParameter(name: name)
        }
        var values = [Float](repeating: 0, count: layout.count)
        for (spec, offset) in zip(layout.specs, layout.offsets) {
            let data = parameters[spec.name]!.data
            if let bad = data.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteWeight(name: spec.name, index: bad, value: data[bad])
            }
            values.replaceSubrange(offset..<(offset + data.count), with: data)
        }
        self.config = config
        self.layout = layout
        self.offsets = ModelOffsets(layout: layout, config: config)
        self.values = values
    }

    /// Wraps an already packed flat buffer (in ``ParameterLayout``'s order), e.g. a
    /// trainer's parameter vector. Checks the config, the total size, and that every value is
    /// finite (naming the tensor that holds a NaN or infinity).
    public init(config: ModelConfig, values: [Float]) throws(ModelError) {
        do { try config.validate() } catch { throw .invalidConfig(error) }
        let layout = ParameterLayout(config: config)
        guard values.count == layout.count else {
            throw .shapeMismatch(name: "flat parameter buffer", expected: [layout.count], actual: [values.count])
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            // The last tensor starting at or before `bad` holds it.
            let i = layout.offsets.lastIndex(where: { $0 <= bad }) ?? 0
            throw .nonFiniteWeight(name: layout.specs[i].name, index: bad - layout.offsets[i], value: values[bad])
        }
        self.config = config
        self.layout = layout
        self.offsets = ModelOffsets(layout: layout, config: config)
        self.values = values
    }

    /// The parameter named `name` as a tensor (a copy), or nil if the config has none.
    public func tensor(named name: String) -> Tensor? {
        guard let i = layout.index(of: name) else { return nil }
        let spec = layout.specs[i], start = layout.offsets[i]
        return Tensor(shape: spec.shape, data: Array(values[start..<(start + spec.elementCount)]))
    }

    /// Every parameter as a tensor, keyed by dotted HF name.
    public func parameterDictionary() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for spec in layout.specs { out[spec.name] = tensor(named: spec.name) }
        return out
    }
}
