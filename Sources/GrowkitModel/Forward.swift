import GrowkitState

/// The result of a forward pass when the caller does not keep the activations.
public struct ForwardOutput: Sendable {
    /// [B, T, V] logits.
    public var logits: Tensor
    /// Mean cross-entropy over targets that are not ``Kernels/ignoreIndex``, when targets were given.
    public var loss: Float?
}

extension ModelWeights {
    /// Checks token ids (and targets) and copies them into the activations.
    func loadInputs(tokens: [Int32], targets: [Int32]?, into acts: Activations) throws(ModelError) {
        let B = acts.batchSize, T = acts.seqLen, V = config.vocabSize
        guard acts.config == config else {
            throw .activationsMismatch(expected: "this model's config", actual: "another config")
        }
        if config.position == .learned, T > config.maxPosition {
            throw .sequenceTooLong(seqLen: T, maxPosition: config.maxPosition)
        }
        guard tokens.count == B * T else {
            throw .inputCountMismatch(what: "token", expected: B * T, actual: tokens.count)
        }
        for (n, token) in tokens.enumerated() where token < 0 || Int(token) >= V {
            throw .tokenOutOfRange(what: "token", batch: n / T, position: n % T, token: Int(token), vocabSize: V)
        }
        if let targets {
            guard targets.count == B * T else {
                throw .inputCountMismatch(what: "target", expected: B * T, actual: targets.count)
            }
            for (n, target) in targets.enumerated()
            where target != Kernels.ignoreIndex && (target < 0 || Int(target) >= V) {
                throw .tokenOutOfRange(what: "target", batch: n / T, position: n % T, token: Int(target), vocabSize: V)
            }
            let valid = Kernels.validTargetCount(targets)
            guard valid > 0 else { throw .noValidTargets }
            acts.targets.update(from: targets, count: B * T)
            acts.validTargetCount = valid
        } else {
            acts.validTargetCount = 0
        }
        acts.tokens.update(from: tokens, count: B * T)
    }

    /// Runs the forward pass on `tokens` ([B, T] row-major, B and T from `activations`),
    /// leaving every intermediate in `activations` and the logits in `activations.logits`.
    ///
    /// Pre-norm decoder (DESIGN.md section 4), per block `l`:
    /// `h = h + o_proj(attn(norm1(h)))`, `h = h + mlp(norm2(h))`; then `logits = head(norm(h))`.
    /// The projections are threaded as ``matmulThreading`` says; with a split mode OpenBLAS is set to
    /// one thread (process-wide) for the duration of the call.
    /// - Returns: the mean cross-entropy against `targets` (ignore index -100) when given, else nil.
    /// - Throws: ``ModelError`` for token ids outside the vocabulary (naming the position), a sequence
    ///   longer than `max_position` with learned positions, wrong input counts, or no valid target.
    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32]? = nil, activations acts: Activations) throws(ModelError)
        -> Float?
    {
        try loadInputs(tokens: tokens, targets: targets, into: acts)
        let cfg = config
        let B = acts.batchSize, T = acts.seqLen, N = B * T
        let C = cfg.hiddenSize, I = cfg.intermediateSize, V = cfg.vocabSize
        let hd = cfg.headDim
        let eps = Float(cfg.normEps)
        let layerNorm = cfg.norm == .layernorm
        let threading = matmulThreading
        return Parallel.withMatmulThreading(threading) { values.withUnsafeBufferPointer { buffer -> Float? in
            let w = buffer.baseAddress!
            func opt(_ offset: Int?) -> UnsafePointer<Float>? { offset.map { w + $0 } }
            func norm(
                _ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                _ rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: Int, _ bias: Int?
            ) {
                if layerNorm {
                    Kernels.layerNorm(out: out, mean: mean, rstd: rstd, inp: inp, weight: w + weight, bias: opt(bias),
                                      rows: N, channels: C, eps: eps)
                } else {
                    Kernels.rmsNorm(out: out, rstd: rstd, inp: inp, weight: w + weight, rows: N, channels: C, eps: eps)
                }
            }

            let first = cfg.numLayers > 0 ? acts.blocks[0].residualIn : acts.residualFinal
            Kernels.embed(out: first, tokens: acts.tokens, wte: w + offsets.tokenEmbedding,
                          wpe: opt(offsets.positionEmbedding), batchSize: B, seqLen: T, channels: C)
            for l in 0..<cfg.numLayers {
                let p = offsets.blocks[l], a = acts.blocks[l]
                // Attention half: a.residualMid = h + o_proj(attn(norm1(h))).
                norm(a.norm1, a.norm1Mean, a.norm1Rstd, a.residualIn, p.norm1Weight, p.norm1Bias)
                // One sgemm for q, k and v: their weights (and biases) are adjacent in the packed
                // buffer (ParameterLayout.packingOrder), i.e. one [qw + 2 kvw, C] matrix.
                Kernels.linear(out: a.qkv, inp: a.norm1, weight: w + p.qWeight, bias: opt(p.qBias),
                               rows: N, inFeatures: C, outFeatures: a.qkvRowStride, threading: threading)
                if cfg.position == .rope {
                    Kernels.rope(a.q, cos: acts.ropeCos, sin: acts.ropeSin, batchSize: B, seqLen: T,
                                 heads: cfg.numHeads, headDim: hd, rowStride: a.qkvRowStride)
                    Kernels.rope(a.k, cos: acts.ropeCos, sin: acts.ropeSin, batchSize: B, seqLen: T,
                                 heads: cfg.numKVHeads, headDim: hd, rowStride: a.qkvRowStride)
                }
                Kernels.causalAttention(out: a.attnOut, probs: a.attnProbs, q: a.q, k: a.k, v: a.v,
                                        valuesTransposed: acts.valuesTransposed,
                                        batchSize: B, seqLen: T, heads: cfg.numHeads, kvHeads: cfg.numKVHeads,
                                        headDim: hd, qRowStride: a.qkvRowStride, kvRowStride: a.qkvRowStride,
                                        wholeRows: acts.keepsForBackward)
                // Forward-only activations alias residualMid to residualIn: o_proj then adds in place.
                if a.residualMid != a.residualIn { a.residualMid.update(from: a.residualIn, count: N * C) }
                Kernels.linear(out: a.residualMid, inp: a.attnOut, weight: w + p.oWeight, bias: opt(p.oBias),
                               rows: N, inFeatures: cfg.queryWidth, outFeatures: C, accumulate: true, threading: threading)

                // MLP half: next residual = residualMid + down(act(norm2(residualMid))).
                norm(a.norm2, a.norm2Mean, a.norm2Rstd, a.residualMid, p.norm2Weight, p.norm2Bias)
                if let gate = p.gateWeight {
                    // One sgemm for gate and up (adjacent weights: one [2I, C] matrix).
                    Kernels.linear(out: a.mlpGateUp, inp: a.norm2, weight: w + gate, bias: opt(p.gateBias),
                                   rows: N, inFeatures: C, outFeatures: a.mlpRowStride, threading: threading)
                    Kernels.swiglu(out: a.mlpAct, gate: a.mlpGate, up: a.mlpUp, rows: N, columns: I,
                                   inputRowStride: a.mlpRowStride)
                } else {
                    Kernels.linear(out: a.mlpUp, inp: a.norm2, weight: w + p.upWeight, bias: opt(p.upBias),
                                   rows: N, inFeatures: C, outFeatures: I, threading: threading)
                    Kernels.geluTanh(out: a.mlpAct, inp: a.mlpUp, count: N * I)
                }
                let next = l + 1 < cfg.numLayers ? acts.blocks[l + 1].residualIn : acts.residualFinal
                if next != a.residualMid { next.update(from: a.residualMid, count: N * C) }
                Kernels.linear(out: next, inp: a.mlpAct, weight: w + p.downWeight, bias: opt(p.downBias),
                               rows: N, inFeatures: I, outFeatures: C, accumulate: true, threading: threading)
            }
            norm(acts.finalNorm, acts.finalNormMean, acts.finalNormRstd, acts.residualFinal,
                 offsets.finalNormWeight, offsets.finalNormBias)
            Kernels.linear(out: acts.logits, inp: acts.finalNorm, weight: w + offsets.head, bias: nil,
                           rows: N, inFeatures: C, outFeatures: V, threading: threading)
            guard targets != nil else { return nil }
            return Kernels.crossEntropy(rowMax: acts.rowMax, logSum: acts.logSum, losses: acts.losses,
                                        logits: acts.logits, targets: acts.targets, rows: N, vocabSize: V)
        } }
    }

    /// Convenience: allocates forward-only activations, runs ``forward(tokens:targets:activations:)``
    /// and returns the `[B, T, V]` logits and the loss.
    public func forward(tokens: [Int32], targets: [Int32]? = nil, batchSize: Int, seqLen: Int) throws(ModelError)
        -> ForwardOutput
    {
        let acts = try Activations(config: config, batchSize: batchSize, seqLen: seqLen, keepForBackward: false)
        let loss = try forward(tokens: tokens, targets: targets, activations: acts)
        return ForwardOutput(logits: acts.logitsTensor(), loss: loss)
    }
}

extension ModelWeights {
    /// Converts token ids of any integer type to `Int32`, refusing values no vocabulary can hold.
    func int32Tokens<Token: BinaryInteger>(_ values: [Token], what: String, seqLen: Int) throws(ModelError)
        -> [Int32]
    {
        var out = [Int32]()
        out.reserveCapacity(values.count)
        for (n, value) in values.enumerated() {
            guard let v = Int32(exactly: value) else {
                throw .tokenOutOfRange(what: what, batch: n / max(seqLen, 1), position: n % max(seqLen, 1),
                                       token: Int(clamping: value), vocabSize: config.vocabSize)
            }
            out.append(v)
        }
        return out
    }

    /// ``forward(tokens:targets:batchSize:seqLen:)`` for token ids of any integer type
    /// (`Int`, `UInt16` from a nanoGPT `train.bin`, ...), targets using -100 as ignore index.
    public func forward<Token: BinaryInteger>(
        tokens: [Token], targets: [Token]? = nil, batchSize: Int, seqLen: Int
    ) throws(ModelError) -> ForwardOutput {
        let t = try int32Tokens(tokens, what: "token", seqLen: seqLen)
        let g = try targets.map { (values: [Token]) throws(ModelError) in
            try int32Tokens(values, what: "target", seqLen: seqLen)
        }
        return try forward(tokens: t, targets: g, batchSize: batchSize, seqLen: seqLen)
    }
}
