import GrowkitState
import GrowkitStorage

/// config.json <-> ``ModelConfig`` for the two supported architectures (docs/HUGGINGFACE.md).
public enum HuggingFaceConfig {
    /// Largest config.json read (bytes).
    public static let maxBytes = 16 << 20

    /// Reads and maps `path` (a config.json).
    public static func read(_ path: String) throws(HuggingFaceError) -> ModelConfig {
        let bytes: [UInt8]
        do {
            bytes = try SafeTensorsShards.readSmallFile(path, bound: maxBytes)
        } catch {
            if case .fileNotFound = error {
                throw .invalidConfig(file: path, key: "the file", problem: "is missing (a Hugging Face folder needs config.json next to the weights)")
            }
            throw .safetensors(error)
        }
        let json: StrictJSON
        do {
            json = try StrictJSON.parse(bytes)
        } catch {
            throw .invalidConfig(file: path, key: "the file", problem: "is not valid JSON (\(error.reason))")
        }
        guard case .object = json else { throw .invalidConfig(file: path, key: "the file", problem: "is not a JSON object") }
        return try map(json, file: path)
    }

    /// The growkit config of a parsed config.json.
    public static func map(_ json: StrictJSON, file: String) throws(HuggingFaceError) -> ModelConfig {
        let architecture = json["architectures"].flatMap { value -> String? in
            if case .array(let items) = value { return items.first?.stringValue }
            return nil
        }
        let modelType = json["model_type"]?.stringValue
        let family: ModelConfig.Family
        switch (architecture, modelType) {
        case ("GPT2LMHeadModel", _), ("GPT2Model", _), (nil, "gpt2"): family = .gpt2
        case ("LlamaForCausalLM", _), ("LlamaModel", _), (nil, "llama"): family = .llama
        default:
            let name = [architecture, modelType.map { "(model_type \($0))" }].compactMap { $0 }.joined(separator: " ")
            throw .unsupportedArchitecture(file: file, found: name.isEmpty ? "(none named: no architectures or model_type)" : name)
        }
        let reader = Keys(json: json, file: file)
        let config: ModelConfig
        switch family {
        case .gpt2:
            let d = try reader.int("n_embd")
            let heads = try reader.int("n_head")
            let activation = try reader.string("activation_function", default: "gelu_new")
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(activation) else {
                throw .invalidConfig(file: file, key: "activation_function", problem: "is \(activation); growkit's gpt2 uses the tanh GELU (gelu_new)")
            }
            if try reader.bool("scale_attn_by_inverse_layer_idx", default: false) {
                throw .invalidConfig(file: file, key: "scale_attn_by_inverse_layer_idx", problem: "is true; growkit's gpt2 scales attention by 1/sqrt(head_dim) only")
            }
            if !(try reader.bool("scale_attn_weights", default: true)) {
                throw .invalidConfig(file: file, key: "scale_attn_weights", problem: "is false; growkit's gpt2 scales attention by 1/sqrt(head_dim)")
            }
            guard heads > 0, d % heads == 0 else {
                throw .invalidConfig(file: file, key: "n_head", problem: "(\(heads)) does not divide n_embd (\(d))")
            }
            var c = ModelConfig.gpt2(vocabSize: try reader.int("vocab_size"), hiddenSize: d, numLayers: try reader.int("n_layer"),
                                     numHeads: heads, maxPosition: try reader.int("n_positions", default: 1024))
            c.intermediateSize = try reader.int("n_inner", default: 4 * d)
            c.normEps = try reader.double("layer_norm_epsilon", default: 1e-5)
            c.tieEmbeddings = try reader.bool("tie_word_embeddings", default: true)
            config = c
        case .llama:
            let d = try reader.int("hidden_size")
            let heads = try reader.int("num_attention_heads")
            let act = try reader.string("hidden_act", default: "silu")
            guard act == "silu" else {
                throw .invalidConfig(file: file, key: "hidden_act", problem: "is \(act); growkit's llama uses SwiGLU with silu")
            }
            var theta = try reader.double("rope_theta", default: 10_000)
            if let rope = json["rope_parameters"], case .object = rope {
                if let type = rope["rope_type"]?.stringValue, type != "default" {
                    throw .invalidConfig(file: file, key: "rope_parameters.rope_type", problem: "is \(type); growkit implements the default RoPE only")
                }
                if let t = rope["rope_theta"]?.doubleValue { theta = t }
            }
            if let scaling = json["rope_scaling"], !scaling.isNull {
                let type = scaling["rope_type"]?.stringValue ?? scaling["type"]?.stringValue ?? "?"
                if type != "default" {
                    throw .invalidConfig(file: file, key: "rope_scaling", problem: "is of type \(type); growkit implements the default RoPE only")
                }
            }
            guard heads > 0 else { throw .invalidConfig(file: file, key: "num_attention_heads", problem: "is \(heads); it must be positive") }
            var c = ModelConfig.llama(
                vocabSize: try reader.int("vocab_size"), hiddenSize: d, numLayers: try reader.int("num_hidden_layers"),
                numHeads: heads, numKVHeads: try reader.int("num_key_value_heads", default: heads),
                intermediateSize: try reader.int("intermediate_size"),
                maxPosition: try reader.int("max_position_embeddings", default: 2048),
                headDim: try reader.int("head_dim", default: d / heads), normEps: try reader.double("rms_norm_eps", default: 1e-6),
                ropeTheta: theta, tieEmbeddings: try reader.bool("tie_word_embeddings", default: false))
            c.attentionBias = try reader.bool("attention_bias", default: false)
            c.mlpBias = try reader.bool("mlp_bias", default: false)
            config = c
        }
        do {
            try config.validate()
        } catch {
            throw .invalidConfig(file: file, key: "the model", problem: "is invalid: \(error.problem)")
        }
        return config
    }

    /// config.json for `config`, loadable by transformers 4.x and 5.x: both `rope_theta` and
    /// `rope_parameters`, both `torch_dtype` and `dtype`.
    public static func json(for config: ModelConfig, dtype: SafeTensorsDType, file: String) throws(HuggingFaceError) -> StrictJSON {
        var m: [(key: String, value: StrictJSON)] = []
        func put(_ key: String, _ value: StrictJSON) { m.append((key, value)) }
        let c = config
        switch c.family {
        case .gpt2:
            guard c.norm == .layernorm, c.activation == .geluTanh, c.position == .learned, c.attentionBias, c.mlpBias,
                  c.numKVHeads == c.numHeads, c.headDim * c.numHeads == c.hiddenSize else {
                throw .notExpressible(file: file, problem: "this gpt2 state (norm \(c.norm.rawValue), activation \(c.activation.rawValue), kv heads \(c.numKVHeads) of \(c.numHeads), head_dim \(c.headDim), biases \(c.attentionBias)/\(c.mlpBias)) cannot be expressed as GPT2LMHeadModel, which needs layernorm, gelu_tanh, learned positions, biases, num_kv_heads = num_heads and head_dim = hidden/heads")
            }
            put("architectures", .array([.string("GPT2LMHeadModel")]))
            put("model_type", .string("gpt2"))
            put("vocab_size", .integer(c.vocabSize))
            put("n_embd", .integer(c.hiddenSize))
            put("n_layer", .integer(c.numLayers))
            put("n_head", .integer(c.numHeads))
            put("n_inner", .integer(c.intermediateSize))
            put("n_positions", .integer(c.maxPosition))
            put("n_ctx", .integer(c.maxPosition))
            put("layer_norm_epsilon", .number(c.normEps))
            put("activation_function", .string("gelu_new"))
            put("resid_pdrop", .number(0)); put("embd_pdrop", .number(0)); put("attn_pdrop", .number(0))
            put("scale_attn_weights", .bool(true))
            put("scale_attn_by_inverse_layer_idx", .bool(false))
            put("reorder_and_upcast_attn", .bool(false))
        case .llama:
            guard c.norm == .rmsnorm, c.activation == .swiglu, c.position == .rope else {
                throw .notExpressible(file: file, problem: "this llama state (norm \(c.norm.rawValue), activation \(c.activation.rawValue), position \(c.position.rawValue)) cannot be expressed as LlamaForCausalLM, which needs rmsnorm, swiglu and rope")
            }
            put("architectures", .array([.string("LlamaForCausalLM")]))
            put("model_type", .string("llama"))
            put("vocab_size", .integer(c.vocabSize))
            put("hidden_size", .integer(c.hiddenSize))
            put("num_hidden_layers", .integer(c.numLayers))
            put("num_attention_heads", .integer(c.numHeads))
            put("num_key_value_heads", .integer(c.numKVHeads))
            put("head_dim", .integer(c.headDim))
            put("intermediate_size", .integer(c.intermediateSize))
            put("max_position_embeddings", .integer(c.maxPosition))
            put("rms_norm_eps", .number(c.normEps))
            put("hidden_act", .string("silu"))
            put("attention_bias", .bool(c.attentionBias))
            put("mlp_bias", .bool(c.mlpBias))
            put("attention_dropout", .number(0))
            put("rope_theta", .number(c.ropeTheta))
            put("rope_scaling", .null)
            put("rope_parameters", .object([("rope_type", .string("default")), ("rope_theta", .number(c.ropeTheta))]))
        }
        put("tie_word_embeddings", .bool(c.tieEmbeddings))
        put("bos_token_id", .null); put("eos_token_id", .null); put("pad_token_id", .null)
        put("torch_dtype", .string(dtype.torchName))
        put("dtype", .string(dtype.torchName))
        return .object(m)
    }

    /// Typed access to config.json keys with defaults; a present `null` takes the default.
    private struct Keys {
        let json: StrictJSON
        let file: String

        func value(_ key: String) -> StrictJSON? {
            guard let v = json[key], !v.isNull else { return nil }
            return v
        }

        func int(_ key: String, default fallback: Int? = nil) throws(HuggingFaceError) -> Int {
            guard let v = value(key) else {
                if let fallback { return fallback }
                throw .invalidConfig(file: file, key: key, problem: "is missing")
            }
            guard let i = v.intValue else { throw .invalidConfig(file: file, key: key, problem: "is \(v.serialized), not an integer") }
            return i
        }

        func double(_ key: String, default fallback: Double) throws(HuggingFaceError) -> Double {
            guard let v = value(key) else { return fallback }
            guard let d = v.doubleValue else { throw .invalidConfig(file: file, key: key, problem: "is \(v.serialized), not a number") }
            return d
        }

        func bool(_ key: String, default fallback: Bool) throws(HuggingFaceError) -> Bool {
            guard let v = value(key) else { return fallback }
            guard let b = v.boolValue else { throw .invalidConfig(file: file, key: key, problem: "is \(v.serialized), not a boolean") }
            return b
        }

        func string(_ key: String, default fallback: String) throws(HuggingFaceError) -> String {
            guard let v = value(key) else { return fallback }
            guard let s = v.stringValue else { throw .invalidConfig(file: file, key: key, problem: "is \(v.serialized), not a string") }
            return s
        }
    }
}
