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
/// seqLen) in a single 64-byte-aligned arena; the forward pass never allocates.
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
    /// [N] log-sum-exp of each logits row, and [N] per-position loss (0 where ignored).
    public let logSumExp: UnsafeMutablePointer<Float>
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
    /// Total arena size in bytes.
    public let byteCount: Int

    private let arena: UnsafeMutableRawPointer

    /// Largest arena this will allocate (64 GiB).
    public static let maxBytes = 1 << 36

    public init(config: ModelConfig, batchSize: Int, seqLen: Int, keepForBackward: Bool = true) throws(ModelError) {
        do { try config.validate() } catch { throw .invalidConfig(error) }
        guard batchSize > 0, seqLen > 0 else { throw .invalidBatchShape(batchSize: batchSize, seqLen: seqLen) }
        // Every size below is a product of validated config values and B, T; check for overflow and the cap
        // before allocating anything.
        func mul(_ xs: Int...) -> Int? {
            var r = 1
            for x in xs {
                let (p, o) = r.multipliedReportingOverflow(by: x)
                if o { return nil }
                r = p
            }
            return r
        }
        let tooLarge = ModelError.activationsTooLarge(batchSize: batchSize, seqLen: seqLen, bytes: Int.max)
        // sgemm takes 32-bit sizes: B*T rows must fit (feature sizes are bounded by ModelConfig.Limits).
        guard let n = mul(batchSize, seqLen), n <= Int(Int32.max) else { throw tooLarge }
        let c = config.hiddenSize, i = config.intermediateSize
        let qw = config.queryWidth, kvw = config.keyValueWidth
        let hasGate = config.activation == .swiglu
        let qkvWidth = qw + 2 * kvw, mlpWidth = hasGate ? 2 * i : i
        guard let nc = mul(n, c), let nq = mul(n, qw), let nqkv = mul(n, qkvWidth), let ni = mul(n, i),
              let nmlp = mul(n, mlpWidth),
              let probs = mul(batchSize, config.numHeads, seqLen, seqLen), let nv = mul(n, config.vocabSize),
              let rope = mul(seqLen, max(config.headDim / 2, 1))
        else { throw tooLarge }
        // Sizes in floats, each rounded up to 16 floats (64 bytes) for alignment.
        func pad(_ x: Int) -> Int { (x + 15) & ~15 }
        let blockSizes = [nc, nc, n, n, nqkv, probs, nq, keepForBackward ? nc : 0, nc, n, n, nmlp, ni].map(pad)
        let blockFloats = blockSizes.reduce(0, { $0 &+ $1 })
        let blockSets = keepForBackward ? config.numLayers : 1
        guard let nkv = mul(n, kvw) else { throw tooLarge }
        let otherSizes = [nc, nc, n, n, nv, n, n, nkv, rope, rope, n, n].map(pad)  // last two hold Int32 (same size)
        guard let allBlocks = mul(blockFloats, blockSets) else { throw tooLarge }
        let (total, o1) = allBlocks.addingReportingOverflow(otherSizes.reduce(0, +))
        guard !o1, let bytes = mul(total, 4), bytes <= Self.maxBytes else {
            throw .activationsTooLarge(batchSize: batchSize, seqLen: seqLen, bytes: o1 ? Int.max : total &* 4)
        }

        arena = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        arena.initializeMemory(as: Float.self, repeating: 0, count: total)
        let base = arena.assumingMemoryBound(to: Float.self)
        var cursor = 0
        func take(_ size: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += pad(size) }
            return base + cursor
        }
        var sets: [BlockActivations] = []
        for _ in 0..<blockSets {
            let residualIn = take(nc), norm1 = take(nc), norm1Mean = take(n), norm1Rstd = take(n)
            let qkv = take(nqkv)
            // Forward-only: one residual buffer that each block updates in place (nothing reads
            // a block's input after the block), so the residual stream is never copied.
            let attnProbs = take(probs), attnOut = take(nq), residualMid = keepForBackward ? take(nc) : residualIn
            let norm2 = take(nc), norm2Mean = take(n), norm2Rstd = take(n)
            let mlpGateUp = take(nmlp)
            sets.append(BlockActivations(
                residualIn: residualIn, norm1: norm1, norm1Mean: norm1Mean, norm1Rstd: norm1Rstd,
                qkv: qkv, q: qkv, k: qkv + qw, v: qkv + qw + kvw, qkvRowStride: qkvWidth,
                attnProbs: attnProbs, attnOut: attnOut, residualMid: residualMid,
                norm2: norm2, norm2Mean: norm2Mean, norm2Rstd: norm2Rstd,
                mlpGateUp: mlpGateUp, mlpGate: mlpGateUp, mlpUp: mlpGateUp + (hasGate ? i : 0),
                mlpRowStride: mlpWidth, mlpAct: take(ni)))
        }
        blocks = keepForBackward ? sets : Array(repeating: sets[0], count: config.numLayers)
        residualFinal = take(nc)
        finalNorm = take(nc)
        finalNormMean = take(n)
        finalNormRstd = take(n)
        logits = take(nv)
        logSumExp = take(n)
        losses = take(n)
        valuesTransposed = take(nkv)
        ropeCos = take(rope)
        ropeSin = take(rope)
        tokens = UnsafeMutableRawPointer(take(n)).bindMemory(to: Int32.self, capacity: n)
        targets = UnsafeMutableRawPointer(take(n)).bindMemory(to: Int32.self, capacity: n)
        byteCount = bytes
        self.config = config
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.keepsForBackward = keepForBackward
        if config.position == .rope {
            Kernels.ropeTables(cos: ropeCos, sin: ropeSin, seqLen: seqLen, headDim: config.headDim,
                               theta: config.ropeTheta)
        }
    }

    deinit { arena.deallocate() }

    /// The logits as a `[B, T, V]` tensor (a copy).
    public func logitsTensor() -> Tensor {
        let count = batchSize * seqLen * config.vocabSize
        return Tensor(shape: [batchSize, seqLen, config.vocabSize],
                      data: Array(UnsafeBufferPointer(start: logits, count: count)))
    }
}
