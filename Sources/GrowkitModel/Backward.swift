import GrowkitState

extension ModelWeights {
    /// The backward pass: ``forward(tokens:targets:activations:)`` read bottom to top, each kernel
    /// replaced by its backward (llm.c's `gpt2_backward`). Adds `d (scale * sum_n loss_n) / d theta`
    /// to `gradients.parameters` (so micro-batches accumulate; call ``Gradients/zeroParameters()``
    /// before a step) and leaves the activation gradients of the lowest block in `gradients`.
    ///
    /// Per block `l`, from the top (the forward pass's two halves in reverse), with `dh` the
    /// residual stream's gradient (`gradients.residual`, updated in place):
    /// `d mlpAct = dh W_down`, activation backward, `d norm2 = d gateUp W_gateUp`, `dh += norm2'(...)`;
    /// `d attnOut = dh W_o`, attention backward, RoPE backward, `d norm1 = d qkv W_qkv`, `dh += norm1'(...)`.
    /// A residual branch `h + f(h)` passes `dh` through unchanged and adds `f`'s input gradient, which
    /// is why the norms' backward adds to `dh` rather than overwriting it.
    ///
    /// - Parameter lossScale: the factor of the summed per-position losses; nil means the mean over
    ///   this batch's valid targets (`1 / #valid`), what ``forward(tokens:targets:activations:)`` returned.
    ///   Gradient accumulation over several micro-batches passes `1 / #valid of them all`.
    /// - Throws: ``ModelError/nothingToDifferentiate(reason:)`` when `activations` were made without
    ///   `keepForBackward` or the last forward pass had no targets;
    ///   ``ModelError/activationsMismatch(expected:actual:)`` when the shapes disagree.
    public func backward(activations acts: Activations, gradients grads: Gradients, lossScale: Float? = nil)
        throws(ModelError)
    {
        guard acts.keepsForBackward else {
            throw .nothingToDifferentiate(reason: "the activations were made with keepForBackward: false")
        }
        guard acts.validTargetCount > 0 else {
            throw .nothingToDifferentiate(reason: "the last forward pass had no targets")
        }
        guard acts.config == config, grads.config == config, grads.batchSize == acts.batchSize,
              grads.seqLen == acts.seqLen
        else {
            throw .activationsMismatch(expected: "this model's config and the activations' batch shape",
                                       actual: "another config or batch shape")
        }
        let cfg = config
        let B = acts.batchSize, T = acts.seqLen, N = B * T
        let C = cfg.hiddenSize, I = cfg.intermediateSize, V = cfg.vocabSize
        let qw = cfg.queryWidth, kvw = cfg.keyValueWidth
        let layerNorm = cfg.norm == .layernorm
        let scale = lossScale ?? 1 / Float(acts.validTargetCount)
        let g = grads.parameters
        // The backward kernels split their own matmuls: OpenBLAS at one thread, as in the forward pass.
        Parallel.withMatmulThreading(.splitRows) { values.withUnsafeBufferPointer { buffer in
            let w = buffer.baseAddress!
            func optW(_ offset: Int?) -> UnsafePointer<Float>? { offset.map { w + $0 } }
            func optG(_ offset: Int?) -> UnsafeMutablePointer<Float>? { offset.map { g + $0 } }
            /// d(input of a norm) += norm'(d(output)), d(weight), d(bias) += ...
            func normBackward(
                _ inp: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                _ weight: Int, _ bias: Int?
            ) {
                Kernels.normBackward(dinp: grads.residual, dweight: g + weight, dbias: optG(bias), dout: grads.normOut,
                                     inp: inp, mean: layerNorm ? mean : nil, rstd: rstd, weight: w + weight,
                                     rows: N, channels: C)
            }

            // logits = head(norm(h)), loss = CE(logits)
            Kernels.crossEntropyBackward(dlogits: grads.logits, logits: acts.logits, rowMax: acts.rowMax,
                                         logSum: acts.logSum, targets: acts.targets, scale: scale, rows: N, vocabSize: V)
            // A tied head writes into the token embedding's gradient; the embedding adds its part last.
            Kernels.linearBackward(dinp: grads.normOut, dweight: g + offsets.head, dbias: nil, dout: grads.logits,
                                   inp: acts.finalNorm, weight: w + offsets.head, rows: N, inFeatures: C, outFeatures: V)
            grads.residual.update(repeating: 0, count: N * C)
            normBackward(acts.residualFinal, acts.finalNormMean, acts.finalNormRstd, offsets.finalNormWeight,
                         offsets.finalNormBias)

            for l in stride(from: cfg.numLayers - 1, through: 0, by: -1) {
                let p = offsets.blocks[l], a = acts.blocks[l]
                // MLP half: next = residualMid + down(act(norm2(residualMid))).
                Kernels.linearBackward(dinp: grads.mlpAct, dweight: g + p.downWeight, dbias: optG(p.downBias),
                                       dout: grads.residual, inp: a.mlpAct, weight: w + p.downWeight,
                                       rows: N, inFeatures: I, outFeatures: C)
                if let gate = p.gateWeight {
                    Kernels.swigluBackward(dgate: grads.mlpGateUp, dup: grads.mlpGateUp + I, dout: grads.mlpAct,
                                           gate: a.mlpGate, up: a.mlpUp, rows: N, columns: I,
                                           inputRowStride: a.mlpRowStride)
                    // The fused [2I, C] gate/up weight (and its [2I] bias) in one backward.
                    Kernels.linearBackward(dinp: grads.normOut, dweight: g + gate, dbias: optG(p.gateBias),
                                           dout: grads.mlpGateUp, inp: a.norm2, weight: w + gate,
                                           rows: N, inFeatures: C, outFeatures: a.mlpRowStride)
                } else {
                    Kernels.geluTanhBackward(dinp: grads.mlpGateUp, dout: grads.mlpAct, inp: a.mlpUp, count: N * I)
                    Kernels.linearBackward(dinp: grads.normOut, dweight: g + p.upWeight, dbias: optG(p.upBias),
                                           dout: grads.mlpGateUp, inp: a.norm2, weight: w + p.upWeight,
                                           rows: N, inFeatures: C, outFeatures: I)
                }
                normBackward(a.residualMid, a.norm2Mean, a.norm2Rstd, p.norm2Weight, p.norm2Bias)

                // Attention half: residualMid = residualIn + o_proj(attn(rope(qkv(norm1(residualIn))))).
                Kernels.linearBackward(dinp: grads.attnOut, dweight: g + p.oWeight, dbias: optG(p.oBias),
                                       dout: grads.residual, inp: a.attnOut, weight: w + p.oWeight,
                                       rows: N, inFeatures: qw, outFeatures: C)
                Kernels.causalAttentionBackward(
                    dq: grads.qkv, dk: grads.qkv + qw, dv: grads.qkv + qw + kvw, dscores: grads.attnScores,
                    keysTransposed: grads.keysTransposed, dout: grads.attnOut, probs: a.attnProbs,
                    q: a.q, k: a.k, v: a.v, batchSize: B, seqLen: T, heads: cfg.numHeads, kvHeads: cfg.numKVHeads,
                    headDim: cfg.headDim, qRowStride: a.qkvRowStride, kvRowStride: a.qkvRowStride)
                if cfg.position == .rope {
                    Kernels.ropeBackward(grads.qkv, cos: acts.ropeCos, sin: acts.ropeSin, batchSize: B, seqLen: T,
                                         heads: cfg.numHeads, headDim: cfg.headDim, rowStride: a.qkvRowStride)
                    Kernels.ropeBackward(grads.qkv + qw, cos: acts.ropeCos, sin: acts.ropeSin, batchSize: B,
                                         seqLen: T, heads: cfg.numKVHeads, headDim: cfg.headDim,
                                         rowStride: a.qkvRowStride)
                }
                // The fused [qw + 2 kvw, C] q/k/v weight (and bias) in one backward.
                Kernels.linearBackward(dinp: grads.normOut, dweight: g + p.qWeight, dbias: optG(p.qBias),
                                       dout: grads.qkv, inp: a.norm1, weight: w + p.qWeight,
                                       rows: N, inFeatures: C, outFeatures: a.qkvRowStride)
                normBackward(a.residualIn, a.norm1Mean, a.norm1Rstd, p.norm1Weight, p.norm1Bias)
            }
            Kernels.embedBackward(dwte: g + offsets.tokenEmbedding, dwpe: optG(offsets.positionEmbedding),
                                  dout: grads.residual, tokens: acts.tokens, batchSize: B, seqLen: T, channels: C)
        } }
    }
}
