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

/// One parameter of a model: its Hugging Face Llama-style name, its axes by
/// role, and its shape under a config. Layout is torch `nn.Linear`: `[out, in]`.
public struct ParameterSpec: Sendable, Hashable {
    /// Dotted Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public var name: String
    public var roles: [AxisRole]
    public var shape: [Int]
    /// Decoder block index, or `nil` for embeddings, the final norm and the head.
    public var layer: Int?

    public init(name: String, roles: [AxisRole], shape: [Int], layer: Int?) {
        self.name = name
        self.roles = roles
        self.shape = shape
        self.layer = layer
    }

    /// The HDF5 path below `/params` (and below `/optimizer/exp_avg`, `/optimizer/exp_avg_sq`):
    /// the dotted name with `/` for `.`.
    public var storagePath: String { String(name.map { $0 == "." ? "/" : $0 }) }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Matrices decay, vectors (biases, norm weights) do not: the usual
    /// AdamW grouping (GPT-2, nanoGPT, Llama). Embeddings are matrices and decay.
    public var defaultWeightDecay: Bool { shape.count >= 2 }
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

    /// The parameters of one decoder block, in a fixed order, as (suffix, roles, hasIt).
    private func blockTable() -> [(String, [AxisRole], Bool)] {
        let layerNormBias = norm == .layernorm
        return [
            ("input_layernorm.weight", [.hidden], true),
            ("input_layernorm.bias", [.hidden], layerNormBias),
            ("self_attn.q_proj.weight", [.queryHeads, .hidden], true),
            ("self_attn.q_proj.bias", [.queryHeads], attentionBias),
            ("self_attn.k_proj.weight", [.keyValueHeads, .hidden], true),
            ("self_attn.k_proj.bias", [.keyValueHeads], attentionBias),
            ("self_attn.v_proj.weight", [.keyValueHeads, .hidden], true),
            ("self_attn.v_proj.bias", [.keyValueHeads], attentionBias),
            ("self_attn.o_proj.weight", [.hidden, .queryHeads], true),
            ("self_attn.o_proj.bias", [.hidden], attentionBias),
            ("post_attention_layernorm.weight", [.hidden], true),
            ("post_attention_layernorm.bias", [.hidden], layerNormBias),
            ("mlp.gate_proj.weight", [.intermediate, .hidden], activation == .swiglu),
            ("mlp.gate_proj.bias", [.intermediate], activation == .swiglu && mlpBias),
            ("mlp.up_proj.weight", [.intermediate, .hidden], true),
            ("mlp.up_proj.bias", [.intermediate], mlpBias),
            ("mlp.down_proj.weight", [.hidden, .intermediate], true),
            ("mlp.down_proj.bias", [.hidden], mlpBias),
        ]
    }

    /// Every parameter this config implies, in canonical order: embeddings,
    /// blocks 0..<L, final norm, head. This table is the single source of truth
    /// for names, shapes and roles; readers validate files against it and
    /// growth operators derive their per-tensor rules from the roles.
    public func parameters() -> [ParameterSpec] {
        func spec(_ name: String, _ roles: [AxisRole], layer: Int? = nil) -> ParameterSpec {
            ParameterSpec(name: name, roles: roles, shape: roles.map { size(of: $0) }, layer: layer)
        }
        var specs = [spec("model.embed_tokens.weight", [.vocab, .hidden])]
        if position == .learned {
            specs.append(spec("model.embed_positions.weight", [.position, .hidden]))
        }
        let block = blockTable().filter { $0.2 }
        for layer in 0..<max(numLayers, 0) {
            for (suffix, roles, _) in block {
                specs.append(spec("model.layers.\(layer).\(suffix)", roles, layer: layer))
            }
        }
        specs.append(spec("model.norm.weight", [.hidden]))
        if norm == .layernorm { specs.append(spec("model.norm.bias", [.hidden])) }
        if !tieEmbeddings { specs.append(spec("lm_head.weight", [.vocab, .hidden])) }
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
