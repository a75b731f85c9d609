/// Model hyperparameters, as stored in the `/config` group of format v1.
///
/// Both families are pre-norm decoders (DESIGN.md section 4):
/// `h += attn(norm1(h)); h += mlp(norm2(h)); logits = head(norm(h))`.
public struct ModelConfig: Sendable, Hashable, Codable {
    public enum Family: String, Sendable, Codable, CaseIterable { case gpt2, llama }
    public enum Norm: String, Sendable, Codable, CaseIterable { case layernorm, rmsnorm }
    public enum Activation: String, Sendable, Codable, CaseIterable {
        /// HF `gelu_new`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
        case geluTanh = "gelu_tanh"
        /// `down(silu(gate(x)) * up(x))`.
        case swiglu
    }
    public enum Position: String, Sendable, Codable, CaseIterable { case learned, rope }

    public var family: Family
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var maxPosition: Int
    public var norm: Norm
    public var normEps: Double
    public var activation: Activation
    public var position: Position
    public var ropeTheta: Double
    public var tieEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool

    public init(
        family: Family, vocabSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int,
        numKVHeads: Int, headDim: Int, intermediateSize: Int, maxPosition: Int,
        norm: Norm, normEps: Double, activation: Activation, position: Position,
        ropeTheta: Double, tieEmbeddings: Bool, attentionBias: Bool, mlpBias: Bool
    ) {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.maxPosition = maxPosition
        self.norm = norm
        self.normEps = normEps
        self.activation = activation
        self.position = position
        self.ropeTheta = ropeTheta
        self.tieEmbeddings = tieEmbeddings
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
    }

    /// GPT-2 conventions: LayerNorm with bias (eps 1e-5), learned positions,
    /// GELU tanh, biases everywhere, tied head, `intermediate = 4 hidden`.
    public static func gpt2(
        vocabSize: Int = 256, hiddenSize: Int, numLayers: Int, numHeads: Int, maxPosition: Int = 1024
    ) -> ModelConfig {
        ModelConfig(
            family: .gpt2, vocabSize: vocabSize, hiddenSize: hiddenSize, numLayers: numLayers,
            numHeads: numHeads, numKVHeads: numHeads, headDim: hiddenSize / max(numHeads, 1),
            intermediateSize: 4 * hiddenSize, maxPosition: maxPosition, norm: .layernorm,
            normEps: 1e-5, activation: .geluTanh, position: .learned, ropeTheta: 10_000,
            tieEmbeddings: true, attentionBias: true, mlpBias: true)
    }

    /// Llama conventions: RMSNorm, RoPE (rotate_half), SwiGLU, grouped-query
    /// attention, no biases, untied head.
    public static func llama(
        vocabSize: Int = 256, hiddenSize: Int, numLayers: Int, numHeads: Int, numKVHeads: Int,
        intermediateSize: Int, maxPosition: Int = 2048, headDim: Int? = nil,
        normEps: Double = 1e-5, ropeTheta: Double = 10_000, tieEmbeddings: Bool = false
    ) -> ModelConfig {
        ModelConfig(
            family: .llama, vocabSize: vocabSize, hiddenSize: hiddenSize, numLayers: numLayers,
            numHeads: numHeads, numKVHeads: numKVHeads, headDim: headDim ?? hiddenSize / max(numHeads, 1),
            intermediateSize: intermediateSize, maxPosition: maxPosition, norm: .rmsnorm,
            normEps: normEps, activation: .swiglu, position: .rope, ropeTheta: ropeTheta,
            tieEmbeddings: tieEmbeddings, attentionBias: false, mlpBias: false)
    }

    /// `num_heads * head_dim`: the width of the query projection's output.
    public var queryWidth: Int { numHeads * headDim }
    /// `num_kv_heads * head_dim`: the width of the key and value projections' output.
    public var keyValueWidth: Int { numKVHeads * headDim }
}

extension ModelConfig {
    /// Upper bounds applied before anything is allocated. Generous for real
    /// models (Llama-3 405B: vocab 128256, hidden 16384, 126 layers,
    /// intermediate 53248, 128k positions) and far below absurd values.
    public enum Limits {
        public static let maxDimension = 1 << 24
        public static let maxLayers = 4096
        public static let maxHeads = 4096
        /// Largest element count of any single tensor (2^34 floats = 64 GiB).
        public static let maxTensorElements = 1 << 34
    }

    /// Checks every invariant the forward pass and the parameter table rely on.
    /// Throws ``ConfigError`` with one sentence naming the attribute.
    public func validate() throws(ConfigError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(ConfigError) {
            if !condition { throw ConfigError(problem: message()) }
        }
        let dims: [(String, Int, Int)] = [
            ("vocab_size", vocabSize, Limits.maxDimension), ("hidden_size", hiddenSize, Limits.maxDimension),
            ("num_layers", numLayers, Limits.maxLayers), ("num_heads", numHeads, Limits.maxHeads),
            ("num_kv_heads", numKVHeads, Limits.maxHeads), ("head_dim", headDim, Limits.maxDimension),
            ("intermediate_size", intermediateSize, Limits.maxDimension),
            ("max_position", maxPosition, Limits.maxDimension),
        ]
        for (name, value, bound) in dims {
            try require(value >= 1, "\(name) is \(value); it must be a positive integer")
            try require(value <= bound, "\(name) is \(value), above the sane bound \(bound)")
        }
        try require(numHeads % numKVHeads == 0,
                    "num_heads (\(numHeads)) is not a multiple of num_kv_heads (\(numKVHeads))")
        try require(normEps > 0 && normEps.isFinite, "norm_eps is \(normEps); it must be a positive finite number")
        if position == .rope {
            try require(headDim % 2 == 0, "head_dim is \(headDim); RoPE needs an even head_dim")
            try require(ropeTheta > 0 && ropeTheta.isFinite, "rope_theta is \(ropeTheta); it must be positive")
        }
        for spec in parameters() {
            let count = spec.shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
            try require(count <= Limits.maxTensorElements,
                        "\(spec.name) would have \(count) elements, above the sane bound \(Limits.maxTensorElements)")
        }
    }
}

/// A config that breaks an invariant of the parameter table or the forward
/// pass; `problem` names the attribute (e.g. `num_heads (6) is not a multiple of num_kv_heads (4)`).
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problem: String

    public init(problem: String) { self.problem = problem }

    public var description: String { "invalid model config: \(problem)." }
}
