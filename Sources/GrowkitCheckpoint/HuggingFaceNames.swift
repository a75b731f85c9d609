import GrowkitState

/// Where a growkit parameter lives in a Hugging Face state dict, and how to get it there.
///
/// Llama names map 1:1 (`model.layers.0.self_attn.q_proj.weight`). GPT-2 (`GPT2LMHeadModel`)
/// renames (`wte`, `wpe`, `ln_1`, `ln_2`, `ln_f`), stores its `Conv1D` weights as `[in, out]`
/// (transposed here to torch `[out, in]`) and fuses q, k and v in `c_attn` (`[d, 3d]` weight,
/// `[3d]` bias: part k of 3 along the last axis).
public struct HuggingFaceSource: Sendable, Hashable {
    public enum Transform: Sendable, Hashable {
        /// Same layout.
        case copy
        /// 2-D transpose (`Conv1D [in, out]` <-> `[out, in]`).
        case transpose
        /// Part `k` of 3 along the last axis (c_attn), transposed when 2-D.
        case fusedPart(Int)
    }

    /// The Hugging Face name without the model prefix (`transformer.` / `model.`), e.g. `h.0.attn.c_attn.weight`.
    public var name: String
    /// Whether the name takes the prefix (false for `lm_head.weight`).
    public var prefixed: Bool
    public var transform: Transform
    /// The shape of the Hugging Face tensor.
    public var shape: [Int]
}

extension HuggingFaceSource {
    /// The Hugging Face source of growkit parameter `spec` under `config`.
    public static func of(_ spec: ParameterSpec, _ config: ModelConfig) -> HuggingFaceSource {
        let name = spec.name
        if name == "lm_head.weight" { return HuggingFaceSource(name: name, prefixed: false, transform: .copy, shape: spec.shape) }
        switch config.family {
        case .llama:
            return HuggingFaceSource(name: String(name.dropFirst("model.".count)), prefixed: true, transform: .copy, shape: spec.shape)
        case .gpt2:
            let d = config.hiddenSize
            func direct(_ hf: String) -> HuggingFaceSource { HuggingFaceSource(name: hf, prefixed: true, transform: .copy, shape: spec.shape) }
            func conv(_ hf: String) -> HuggingFaceSource {
                spec.shape.count == 2
                    ? HuggingFaceSource(name: hf, prefixed: true, transform: .transpose, shape: spec.shape.reversed())
                    : direct(hf)
            }
            switch name {
            case "model.embed_tokens.weight": return direct("wte.weight")
            case "model.embed_positions.weight": return direct("wpe.weight")
            case "model.norm.weight": return direct("ln_f.weight")
            case "model.norm.bias": return direct("ln_f.bias")
            default: break
            }
            // model.layers.{i}.<suffix>
            let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
            let layer = parts.count > 2 ? parts[2] : "?"
            let suffix = parts.count > 3 ? parts[3] : name
            let h = "h.\(layer)."
            let kind = suffix.hasSuffix(".bias") ? "bias" : "weight"
            switch suffix {
            case "input_layernorm.weight", "input_layernorm.bias": return direct(h + "ln_1.\(kind)")
            case "post_attention_layernorm.weight", "post_attention_layernorm.bias": return direct(h + "ln_2.\(kind)")
            case "self_attn.o_proj.weight", "self_attn.o_proj.bias": return conv(h + "attn.c_proj.\(kind)")
            case "mlp.up_proj.weight", "mlp.up_proj.bias": return conv(h + "mlp.c_fc.\(kind)")
            case "mlp.down_proj.weight", "mlp.down_proj.bias": return conv(h + "mlp.c_proj.\(kind)")
            default:
                let part = suffix.hasPrefix("self_attn.q_proj") ? 0 : suffix.hasPrefix("self_attn.k_proj") ? 1 : 2
                return HuggingFaceSource(name: h + "attn.c_attn.\(kind)", prefixed: true, transform: .fusedPart(part),
                                         shape: kind == "weight" ? [d, 3 * d] : [3 * d])
            }
        }
    }

    /// The prefix Hugging Face's `*ForCausalLM` classes put before the base model's names.
    public static func prefix(_ family: ModelConfig.Family) -> String { family == .gpt2 ? "transformer." : "model." }

    /// Whether `name` (prefix removed) is a non-parameter buffer older checkpoints carry and readers
    /// ignore: GPT-2's causal-mask `h.{i}.attn.bias` / `attn.masked_bias`, Llama's `rotary_emb.inv_freq`.
    public static func isIgnoredBuffer(_ name: String, _ family: ModelConfig.Family) -> Bool {
        switch family {
        case .gpt2: return name.hasPrefix("h.") && (name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias"))
        case .llama: return name.hasSuffix("rotary_emb.inv_freq")
        }
    }
}

/// Layout helpers for the conversions (row-major float32).
enum TensorLayout {
    /// `dst[c * dstStride + r] = src[r * srcStride + c]` for `r < rows`, `c < cols`, in 8 x 8 tiles:
    /// eight source rows and eight destination rows at a time fit an 8-way L1 cache even when the
    /// strides are multiples of 4 KiB (GPT-2's 3072 floats), where 32 x 32 tiles thrashed.
    static func transpose(_ src: UnsafePointer<Float>, srcStride: Int, rows: Int, cols: Int,
                          into dst: UnsafeMutablePointer<Float>, dstStride: Int) {
        let tile = 8
        var r0 = 0
        while r0 < rows {
            let r1 = min(r0 + tile, rows)
            var c0 = 0
            while c0 < cols {
                let c1 = min(c0 + tile, cols)
                for c in c0..<c1 {
                    let out = dst + c * dstStride
                    for r in r0..<r1 { out[r] = src[r * srcStride + c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }

    /// `[rows, cols]` -> `[cols, rows]`.
    static func transposed(_ src: [Float], rows: Int, cols: Int) -> [Float] {
        guard rows * cols > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: rows * cols) { out, initialized in
            src.withUnsafeBufferPointer { s in
                transpose(s.baseAddress!, srcStride: cols, rows: rows, cols: cols, into: out.baseAddress!, dstStride: rows)
            }
            initialized = rows * cols
        }
    }
}
