import GrowkitState

/// Pointers to one decoder block's activations, everything the backward pass
/// needs (llm.c's `ActivationTensors`, split per layer). N = B*T.
public struct BlockActivations {
    /// [N, C] residual stream entering the block (input of norm1).
    public let residualIn: UnsafeMutablePointer<Float>
    /// [N, C] norm1 output; [N] its mean (LayerNorm only) and rstd.
    public let norm1: UnsafeMutablePointer<Float>
    public let norm1Mean: UnsafeMutablePointer<Float>
    public let norm1Rstd: UnsafeMutablePointer<Float>
    /// [N, qw + 2 kvw] output of the fused q/k/v projection (qw = heads*hd, kvw = kvHeads*hd):
    /// per row the queries, then the keys, then the values. `q`, `k`, `v` point at the three
    /// column slices ([N, qw], [N, kvw], [N, kvw], each with row stride ``qkvRowStride``);
    /// queries and keys are rotated in place by RoPE (when used).
    public let qkv: UnsafeMutablePointer<Float>
    public let q: UnsafeMutablePointer<Float>
    public let k: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>
    /// Row stride of `qkv`, `q`, `k`, `v`: qw + 2 kvw.
    public let qkvRowStride: Int
    /// [B, heads, T, T] attention probabilities (0 above the diagonal).
    public let attnProbs: UnsafeMutablePointer<Float>
    /// [N, heads*hd] attention output, input of o_proj.
    public let attnOut: UnsafeMutablePointer<Float>
    /// [N, C] residual after attention: `residualIn + o_proj(attnOut)` (input of norm2). Without
    /// `keepForBackward` this is the same buffer as `residualIn`, updated in place.
    public let residualMid: UnsafeMutablePointer<Float>
    /// [N, C] norm2 output; [N] its mean (LayerNorm only) and rstd.
    public let norm2: UnsafeMutablePointer<Float>
    public let norm2Mean: UnsafeMutablePointer<Float>
    public let norm2Rstd: UnsafeMutablePointer<Float>
    /// swiglu: [N, 2I] output of the fused gate/up projection, per row `gate_proj` then `up_proj`;
    /// gelu: [N, I] `up_proj` output. `mlpGate` (swiglu only: the SiLU input; otherwise equal to
    /// `mlpUp`, unused) and `mlpUp` point at the column slices, with row stride ``mlpRowStride``.
    public let mlpGateUp: UnsafeMutablePointer<Float>
    public let mlpGate: UnsafeMutablePointer<Float>
    public let mlpUp: UnsafeMutablePointer<Float>
    /// Row stride of `mlpGateUp`: 2I with a gate, I without.
    public let mlpRowStride: Int
    /// [N, I] activation output, input of down_proj: `gelu(up)` or `silu(gate) * up`.
    public let mlpAct: UnsafeMutablePointer<Float>
}

/// All activations of one forward pass, allocated once per (config, batch,
/// seqLen) in a single 64-byte-aligned arena (``Arena``); the forward pass never allocates.
///
/// With `keepForBackward` every block gets its own buffers (what a backward
/// pass needs). Without it all blocks share one set (forward-only evaluation,
/// memory independent of depth); the residual stream then lives in `residualIn`
/// of the shared set and `final*` hold the result either way.
public final class Activations {
    public let config: ModelConfig
    public let batchSize: Int
    public let seqLen: Int
    public let keepsForBackward: Bool
    public let blocks: [BlockActivations]
    /// [N, C] residual stream after the last block (input of the final norm).
    public let residualFinal: UnsafeMutablePointer<Float>
    /// [N, C] final norm output; [N] its mean (LayerNorm only) and rstd.
    public let finalNorm: UnsafeMutablePointer<Float>
    public let finalNormMean: UnsafeMutablePointer<Float>
    public let finalNormRstd: UnsafeMutablePointer<Float>
    /// [N, V] logits.
    public let logits: UnsafeMutablePointer<Float>
    /// [N] each logits row's maximum `m` and `log sum_j exp(z_j - m)` (kept apart, so logits of
    /// 1e10 keep the digits of the sum), and [N] per-position loss (0 where ignored).
    public let rowMax: UnsafeMutablePointer<Float>
    public let logSum: UnsafeMutablePointer<Float>
    public let losses: UnsafeMutablePointer<Float>
    /// [B, kvHeads, hd, T] the values of the block being computed, transposed for `P V`
    /// (scratch of ``Kernels/causalAttention(out:probs:q:k:v:valuesTransposed:batchSize:seqLen:heads:kvHeads:headDim:qRowStride:kvRowStride:blockRows:wholeRows:)``,
    /// shared by all blocks: the backward pass reads `V` itself).
    public let valuesTransposed: UnsafeMutablePointer<Float>
    /// [T, hd/2] RoPE cos and sin tables (RoPE only; unused otherwise).
    public let ropeCos: UnsafeMutablePointer<Float>
    public let ropeSin: UnsafeMutablePointer<Float>
    /// [N] token ids and targets of the current pass.
    public let tokens: UnsafeMutablePointer<Int32>
    public let targets: UnsafeMutablePointer<Int32>
    /// Targets of the last forward pass that are not the ignore index (0 when it had no targets):
    /// the mean loss divides by it, and so does its gradient.
    public internal(set) var validTargetCount = 0
    /// Total arena size in bytes.
    public var byteCount: Int { arena.byteCount }

    private let arena: Arena

    /// Largest arena this will allocate (64 GiB).
    public static let maxBytes = 1 << 36

    /// The pointers of one layout, in the order ``carve(_:config:batchSize:seqLen:keepForBackward:)`` takes them.
    private struct Parts {
        var blocks: [BlockActivations]
        var residualFinal, finalNorm, finalNormMean, finalNormRstd, logits, rowMax, logSum, losses: UnsafeMutablePointer<Float>
        var valuesTransposed, ropeCos, ropeSin: UnsafeMutablePointer<Float>
        var tokens, targets: UnsafeMutablePointer<Int32>
    }

    /// The activation layout, N = B*T: per block (one shared set without `keepForBackward`)
    /// residualIn [N,C], norm1 [N,C], its mean and rstd [N], qkv [N, qw + 2kvw], probs [B,H,T,T],
    /// attnOut [N,qw], residualMid [N,C] (aliased to residualIn without `keepForBackward`),
    /// norm2 [N,C], mean, rstd [N], gate/up [N, 2I or I], mlpAct [N,I]; then the final residual,
    /// final norm, logits [N,V], row max, log-sum, losses [N], Vt [B,kvH,hd,T], RoPE tables
    /// [T, hd/2] twice, tokens and targets [N].
    private static func carve(
        _ c: inout ArenaCursor, config: ModelConfig, batchSize B: Int, seqLen T: Int, keepForBackward: Bool
    ) -> Parts {
        let n = B &* T, C = config.hiddenSize, I = config.intermediateSize
        let qw = config.queryWidth, kvw = config.keyValueWidth
        let hasGate = config.activation == .swiglu
        let qkvWidth = qw + 2 * kvw, mlpWidth = hasGate ? 2 * I : I
        var sets: [BlockActivations] = []
        for _ in 0..<(keepForBackward ? config.numLayers : 1) {
            let residualIn = c.take(n, C), norm1 = c.take(n, C), norm1Mean = c.take(n), norm1Rstd = c.take(n)
            let qkv = c.take(n, qkvWidth)
            // Forward-only: one residual buffer that each block updates in place (nothing reads
            // a block's input after the block), so the residual stream is never copied.
            let attnProbs = c.take(B, config.numHeads, T, T), attnOut = c.take(n, qw)
            let residualMid = keepForBackward ? c.take(n, C) : residualIn
            let norm2 = c.take(n, C), norm2Mean = c.take(n), norm2Rstd = c.take(n)
            let mlpGateUp = c.take(n, mlpWidth), mlpAct = c.take(n, I)
            sets.append(BlockActivations(
                residualIn: residualIn, norm1: norm1, norm1Mean: norm1Mean, norm1Rstd: norm1Rstd,
                qkv: qkv, q: qkv, k: qkv + qw, v: qkv + qw + kvw, qkvRowStride: qkvWidth,
                attnProbs: attnProbs, attnOut: attnOut, residualMid: residualMid,
                norm2: norm2, norm2Mean: norm2Mean, norm2Rstd: norm2Rstd,
                mlpGateUp: mlpGateUp, mlpGate: mlpGateUp, mlpUp: mlpGateUp + (hasGate ? I : 0),
                mlpRowStride: mlpWidth, mlpAct: mlpAct))
        }
        let half = max(config.headDim / 2, 1)
        return Parts(
            blocks: keepForBackward ? sets : Array(repeating: sets[0], count: config.numLayers),
            residualFinal: c.take(n, C), finalNorm: c.take(n, C), finalNormMean: c.take(n), finalNormRstd: c.take(n),
            logits: c.take(n, config.vocabSize), rowMax: c.take(n), logSum: c.take(n), losses: c.take(n),
            valuesTransposed: c.take(n, kvw), ropeCos: c.take(T, half), ropeSin: c.take(T, half),
            tokens: c.takeInt32(n), targets: c.takeInt32(n))
    }

    public init(config: ModelConfig, batchSize: Int, seqLen: Int, keepForBackward: Bool = true) throws(ModelError) {
        do { try config.validate() } catch { throw .invalidConfig(error) }
        guard batchSize > 0, seqLen > 0 else { throw .invalidBatchShape(batchSize: batchSize, seqLen: seqLen) }
        // sgemm takes 32-bit sizes: B*T rows must fit (feature sizes are bounded by ModelConfig.Limits).
        let (n, overflow) = batchSize.multipliedReportingOverflow(by: seqLen)
        guard !overflow, n <= Int(Int32.max) else {
            throw .activationsTooLarge(batchSize: batchSize, seqLen: seqLen, bytes: Int.max)
        }
        let (arena, parts) = try Arena.make(
            maxBytes: Self.maxBytes,
            tooLarge: { ModelError.activationsTooLarge(batchSize: batchSize, seqLen: seqLen, bytes: $0) }
        ) { cursor in
            Self.carve(&cursor, config: config, batchSize: batchSize, seqLen: seqLen, keepForBackward: keepForBackward)
        }
        self.arena = arena
        blocks = parts.blocks
        residualFinal = parts.residualFinal
        finalNorm = parts.finalNorm
        finalNormMean = parts.finalNormMean
        finalNormRstd = parts.finalNormRstd
        logits = parts.logits
        rowMax = parts.rowMax
        logSum = parts.logSum
        losses = parts.losses
        valuesTransposed = parts.valuesTransposed
        ropeCos = parts.ropeCos
        ropeSin = parts.ropeSin
        tokens = parts.tokens
        targets = parts.targets
        self.config = config
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.keepsForBackward = keepForBackward
        if config.position == .rope {
            Kernels.ropeTables(cos: ropeCos, sin: ropeSin, seqLen: seqLen, headDim: config.headDim,
                               theta: config.ropeTheta)
        }
    }

    /// The logits as a `[B, T, V]` tensor (a copy).
    public func logitsTensor() -> Tensor {
        let count = batchSize * seqLen * config.vocabSize
        return Tensor(shape: [batchSize, seqLen, config.vocabSize],
                      data: Array(UnsafeBufferPointer(start: logits, count: count)))
    }
}

/// The gradients of one backward pass (llm.c's `grads` and `grads_acts`), in one arena sized by
/// the same helper as ``Activations``: the parameter gradients, a flat vector in
/// ``ParameterLayout``'s order (the same offsets as ``ModelWeights/values``), and one set of
/// activation gradients that the blocks reuse top to bottom (the backward pass finishes a block
/// before it starts the one below, so per-layer copies would only cost memory).
public final class Gradients {
    public let config: ModelConfig
    public let batchSize: Int
    public let seqLen: Int
    /// [P] d loss / d parameters, ``ParameterLayout`` order; the backward pass adds to it.
    public let parameters: UnsafeMutablePointer<Float>
    public let parameterCount: Int
    /// [N, C] d loss / d residual stream, updated in place from the top of the model down.
    public let residual: UnsafeMutablePointer<Float>
    /// [N, C] d loss / d (output of the norm being differentiated).
    public let normOut: UnsafeMutablePointer<Float>
    /// [N, qw + 2 kvw] d loss / d fused q/k/v projection output (same column slices as the activation).
    public let qkv: UnsafeMutablePointer<Float>
    /// [N, qw] d loss / d attention output.
    public let attnOut: UnsafeMutablePointer<Float>
    /// [B, heads, T, T] d loss / d probabilities, then d loss / d scores (in place).
    public let attnScores: UnsafeMutablePointer<Float>
    /// [B, kvHeads, hd, T] keys transposed (scratch for `dQ = dS K`, see ``Kernels/causalAttentionBackward``).
    public let keysTransposed: UnsafeMutablePointer<Float>
    /// [N, 2I] (swiglu) or [N, I] d loss / d fused gate/up (or up) projection output.
    public let mlpGateUp: UnsafeMutablePointer<Float>
    /// [N, I] d loss / d MLP activation output.
    public let mlpAct: UnsafeMutablePointer<Float>
    /// [N, V] d loss / d logits.
    public let logits: UnsafeMutablePointer<Float>
    public var byteCount: Int { arena.byteCount }

    private let arena: Arena

    private struct Parts {
        var parameters, residual, normOut, qkv, attnOut, attnScores, keysTransposed: UnsafeMutablePointer<Float>
        var mlpGateUp, mlpAct, logits: UnsafeMutablePointer<Float>
    }

    /// The gradient layout: parameters [P], then residual, normOut [N,C], qkv [N, qw + 2kvw],
    /// attnOut [N,qw], scores [B,H,T,T], Kt [B,kvH,hd,T], gate/up [N, 2I or I], mlpAct [N,I], logits [N,V].
    private static func carve(_ c: inout ArenaCursor, config: ModelConfig, parameterCount: Int, batchSize B: Int,
                              seqLen T: Int) -> Parts {
        let n = B &* T, C = config.hiddenSize, I = config.intermediateSize
        let qkvWidth = config.queryWidth + 2 * config.keyValueWidth
        return Parts(
            parameters: c.take(parameterCount), residual: c.take(n, C), normOut: c.take(n, C),
            qkv: c.take(n, qkvWidth), attnOut: c.take(n, config.queryWidth),
            attnScores: c.take(B, config.numHeads, T, T), keysTransposed: c.take(n, config.keyValueWidth),
            mlpGateUp: c.take(n, config.activation == .swiglu ? 2 * I : I), mlpAct: c.take(n, I),
            logits: c.take(n, config.vocabSize))
    }

    /// Gradients for `activations` (same config, batch and sequence length).
    public init(for activations: Activations) throws(ModelError) {
        let config = activations.config, B = activations.batchSize, T = activations.seqLen
        let count = ParameterLayout(config: config).count
        let (arena, parts) = try Arena.make(
            maxBytes: Activations.maxBytes,
            tooLarge: { ModelError.activationsTooLarge(batchSize: B, seqLen: T, bytes: $0) }
        ) { cursor in Self.carve(&cursor, config: config, parameterCount: count, batchSize: B, seqLen: T) }
        self.arena = arena
        parameters = parts.parameters
        residual = parts.residual
        normOut = parts.normOut
        qkv = parts.qkv
        attnOut = parts.attnOut
        attnScores = parts.attnScores
        keysTransposed = parts.keysTransposed
        mlpGateUp = parts.mlpGateUp
        mlpAct = parts.mlpAct
        logits = parts.logits
        parameterCount = count
        self.config = config
        batchSize = B
        seqLen = T
    }

    /// Sets the parameter gradients to zero (before the first micro-batch of a step).
    public func zeroParameters() {
        parameters.update(repeating: 0, count: parameterCount)
    }

    /// The gradient of the parameter named `name` (dotted HF name) as a tensor (a copy), or nil.
    public func tensor(named name: String) -> Tensor? {
        let layout = ParameterLayout(config: config)
        guard let i = layout.index(of: name) else { return nil }
        let spec = layout.specs[i]
        return Tensor(shape: spec.shape,
                      data: Array(UnsafeBufferPointer(start: parameters + layout.offsets[i], count: spec.elementCount)))
    }
}
