/// What one axis of a parameter tensor means. Width growth operators act on
/// roles, not on tensor names (DESIGN.md section 5): an operator that widens
/// `hidden` rewrites every axis whose role is `hidden`, in every tensor.
public enum AxisRole: String, Sendable, Hashable, Codable, CaseIterable {
    case vocab
    case position
    case hidden
    /// `num_heads x head_dim`, head-major.
    case queryHeads
    /// `num_kv_heads x head_dim`, head-major.
    case keyValueHeads
    case intermediate
}

/// What a parameter is: the rules that treat parameters alike (initialization,
/// weight decay, growth) ask this, never the parameter's name.
public enum ParameterKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// `embed_tokens` `[vocab, hidden]`: rows are looked up, not multiplied.
    case tokenEmbedding
    /// `embed_positions` `[position, hidden]` (learned positions only).
    case positionEmbedding
    /// A LayerNorm or RMSNorm gain `[hidden]` (initialised to 1).
    case normWeight
    /// A LayerNorm shift `[hidden]`.
    case normBias
    /// A linear layer's weight `[out, in]`.
    case projectionWeight
    /// A linear layer's bias `[out]`.
    case projectionBias
    /// `lm_head` `[vocab, hidden]` (absent when tied to the token embedding).
    case head
}

/// Which module of the model a parameter belongs to (one per norm and per linear layer).
public enum ParameterModule: String, Sendable, Hashable, Codable, CaseIterable {
    case tokenEmbedding, positionEmbedding
    case inputNorm, query, key, value, attentionOutput
    case postAttentionNorm, gate, up, down
    case finalNorm, head

    /// `o_proj` and `down_proj`: the two linears whose output is added to the
    /// residual stream. Zeroing them (weight and bias) makes a block the identity
    /// (LLaMA Pro's block expansion); GPT-2 initialises them scaled by `1/sqrt(2 L)`.
    public var writesResidualStream: Bool { self == .attentionOutput || self == .down }
}

/// One parameter of a model: its Hugging Face Llama-style name, what it is,
/// its axes by role, and its shape under a config. Layout is torch `nn.Linear`: `[out, in]`.
public struct ParameterSpec: Sendable, Hashable {
    /// Dotted Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public var name: String
    public var kind: ParameterKind
    public var module: ParameterModule
    public var roles: [AxisRole]
    public var shape: [Int]
    /// Decoder block index, or `nil` for embeddings, the final norm and the head.
    public var layer: Int?

    public init(name: String, kind: ParameterKind, module: ParameterModule, roles: [AxisRole], shape: [Int], layer: Int?) {
        self.name = name
        self.kind = kind
        self.module = module
        self.roles = roles
        self.shape = shape
        self.layer = layer
    }

    /// The HDF5 path below `/params` (and below `/optimizer/exp_avg`, `/optimizer/exp_avg_sq`):
    /// the dotted name with `/` for `.`.
    public var storagePath: String { String(name.map { $0 == "." ? "/" : $0 }) }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Matrices decay, vectors (biases, norm weights) do not: the usual
    /// AdamW grouping (GPT-2, nanoGPT, Llama). Embeddings and the head are matrices and decay.
    public var defaultWeightDecay: Bool {
        switch kind {
        case .tokenEmbedding, .positionEmbedding, .projectionWeight, .head: true
        case .normWeight, .normBias, .projectionBias: false
        }
    }
}

extension ModelConfig {
    public func size(of role: AxisRole) -> Int {
        switch role {
        case .vocab: vocabSize
        case .position: maxPosition
        case .hidden: hiddenSize
        case .queryHeads: queryWidth
        case .keyValueHeads: keyValueWidth
        case .intermediate: intermediateSize
        }
    }

    /// The parameters of one decoder block, in a fixed order, as (suffix, kind, module, roles, present).
    private func blockTable() -> [(String, ParameterKind, ParameterModule, [AxisRole], Bool)] {
        let layerNormBias = norm == .layernorm
        let swiglu = activation == .swiglu
        return [
            ("input_layernorm.weight", .normWeight, .inputNorm, [.hidden], true),
            ("input_layernorm.bias", .normBias, .inputNorm, [.hidden], layerNormBias),
            ("self_attn.q_proj.weight", .projectionWeight, .query, [.queryHeads, .hidden], true),
            ("self_attn.q_proj.bias", .projectionBias, .query, [.queryHeads], attentionBias),
            ("self_attn.k_proj.weight", .projectionWeight, .key, [.keyValueHeads, .hidden], true),
            ("self_attn.k_proj.bias", .projectionBias, .key, [.keyValueHeads], attentionBias),
            ("self_attn.v_proj.weight", .projectionWeight, .value, [.keyValueHeads, .hidden], true),
            ("self_attn.v_proj.bias", .projectionBias, .value, [.keyValueHeads], attentionBias),
            ("self_attn.o_proj.weight", .projectionWeight, .attentionOutput, [.hidden, .queryHeads], true),
            ("self_attn.o_proj.bias", .projectionBias, .attentionOutput, [.hidden], attentionBias),
            ("post_attention_layernorm.weight", .normWeight, .postAttentionNorm, [.hidden], true),
            ("post_attention_layernorm.bias", .normBias, .postAttentionNorm, [.hidden], layerNormBias),
            ("mlp.gate_proj.weight", .projectionWeight, .gate, [.intermediate, .hidden], swiglu),
            ("mlp.gate_proj.bias", .projectionBias, .gate, [.intermediate], swiglu && mlpBias),
            ("mlp.up_proj.weight", .projectionWeight, .up, [.intermediate, .hidden], true),
            ("mlp.up_proj.bias", .projectionBias, .up, [.intermediate], mlpBias),
            ("mlp.down_proj.weight", .projectionWeight, .down, [.hidden, .intermediate], true),
            ("mlp.down_proj.bias", .projectionBias, .down, [.hidden], mlpBias),
        ]
    }

    /// Every parameter this config implies, in canonical order: embeddings,
    /// blocks 0..<L, final norm, head. This table is the single source of truth
    /// for names, shapes and roles; readers validate files against it and
    /// growth operators derive their per-tensor rules from the roles.
    public func parameters() -> [ParameterSpec] {
        func spec(_ name: String, _ kind: ParameterKind, _ module: ParameterModule, _ roles: [AxisRole],
                  layer: Int? = nil) -> ParameterSpec {
            ParameterSpec(name: name, kind: kind, module: module, roles: roles, shape: roles.map { size(of: $0) }, layer: layer)
        }
        var specs = [spec("model.embed_tokens.weight", .tokenEmbedding, .tokenEmbedding, [.vocab, .hidden])]
        if position == .learned {
            specs.append(spec("model.embed_positions.weight", .positionEmbedding, .positionEmbedding, [.position, .hidden]))
        }
        let block = blockTable().filter { $0.4 }
        for layer in 0..<max(numLayers, 0) {
            for (suffix, kind, module, roles, _) in block {
                specs.append(spec("model.layers.\(layer).\(suffix)", kind, module, roles, layer: layer))
            }
        }
        specs.append(spec("model.norm.weight", .normWeight, .finalNorm, [.hidden]))
        if norm == .layernorm { specs.append(spec("model.norm.bias", .normBias, .finalNorm, [.hidden])) }
        if !tieEmbeddings { specs.append(spec("lm_head.weight", .head, .head, [.vocab, .hidden])) }
        return specs
    }

    /// Total number of parameters (tied head counted once).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.elementCount } }

    /// Parameters without the token and position embeddings and the head
    /// (every tensor with a vocab or position axis): Kaplan et al. 2020's N,
    /// the size their scaling laws, and so staged training's rules, are fitted on.
    public var nonEmbeddingParameterCount: Int {
        parameters().filter { !$0.roles.contains(.vocab) && !$0.roles.contains(.position) }
            .reduce(0) { $0 + $1.elementCount }
    }
}
