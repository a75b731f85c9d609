extension Kernels {
    /// LayerNorm over the last axis (Ba, Kiros and Hinton 2016), as torch:
    ///
    /// `mean = sum_i x_i / C`, `var = sum_i (x_i - mean)^2 / C` (biased),
    /// `rstd = 1 / sqrt(var + eps)`, `out_i = (x_i - mean) * rstd * w_i + b_i`.
    /// - out, inp: [N, C]; mean, rstd: [N] (kept for the backward pass); weight, bias: [C].
    public static func layerNorm(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows N: Int, channels C: Int, eps: Float
    ) {
        Parallel.chunks(N, minimumChunk: 256, sharing: (out, mean, rstd, inp, weight, bias, C, eps)) { shared, rows in
            let (out, mean, rstd, inp, weight, bias, C, eps) = shared
            let vectorEnd = C & ~7
            for n in rows {
                let x = inp + n * C
                let o = out + n * C
                var acc = V8()
                var i = 0
                while i < vectorEnd { acc += x.load8(i); i += 8 }
                var sum = acc.sum()
                while i < C { sum += x[i]; i += 1 }
                let m = sum / Float(C)
                // Second pass on centred values: no cancellation (torch also centres before squaring).
                var acc2 = V8()
                let mv = V8(repeating: m)
                i = 0
                while i < vectorEnd { let d = x.load8(i) - mv; acc2 += d * d; i += 8 }
                var sq = acc2.sum()
                while i < C { let d = x[i] - m; sq += d * d; i += 1 }
                let s = 1 / (sq / Float(C) + eps).squareRoot()
                mean[n] = m
                rstd[n] = s
                let sv = V8(repeating: s)
                i = 0
                if let bias {
                    while i < vectorEnd {
                        o.store8((x.load8(i) - mv) * sv * weight.load8(i) + bias.load8(i), i)
                        i += 8
                    }
                    while i < C { o[i] = (x[i] - m) * s * weight[i] + bias[i]; i += 1 }
                } else {
                    while i < vectorEnd { o.store8((x.load8(i) - mv) * sv * weight.load8(i), i); i += 8 }
                    while i < C { o[i] = (x[i] - m) * s * weight[i]; i += 1 }
                }
            }
        }
    }

    /// RMSNorm (Zhang and Sennrich 2019), as HF `LlamaRMSNorm` in float32:
    ///
    /// `rstd = 1 / sqrt(sum_i x_i^2 / C + eps)`, `out_i = w_i * (x_i * rstd)`.
    /// - out, inp: [N, C]; rstd: [N] (kept for the backward pass); weight: [C].
    public static func rmsNorm(
        out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows N: Int, channels C: Int, eps: Float
    ) {
        Parallel.chunks(N, minimumChunk: 256, sharing: (out, rstd, inp, weight, C, eps)) { shared, rows in
            let (out, rstd, inp, weight, C, eps) = shared
            let vectorEnd = C & ~7
            for n in rows {
                let x = inp + n * C
                let o = out + n * C
                var acc = V8()
                var i = 0
                while i < vectorEnd { let v = x.load8(i); acc += v * v; i += 8 }
                var sq = acc.sum()
                while i < C { sq += x[i] * x[i]; i += 1 }
                let s = 1 / (sq / Float(C) + eps).squareRoot()
                rstd[n] = s
                let sv = V8(repeating: s)
                i = 0
                while i < vectorEnd { o.store8(weight.load8(i) * (x.load8(i) * sv), i); i += 8 }
                while i < C { o[i] = weight[i] * (x[i] * s); i += 1 }
            }
        }
    }


    /// Backward of ``layerNorm(out:mean:rstd:inp:weight:bias:rows:channels:eps:)`` (with `mean`) and
    /// of ``rmsNorm(out:rstd:inp:weight:rows:channels:eps:)`` (`mean` nil), from the kept statistics.
    /// With `xhat_i = (x_i - mean) rstd` (RMSNorm: `x_i rstd`) and `g_i = w_i dout_i`:
    ///
    /// LayerNorm: `dx_i += rstd (g_i - mean_j g_j - xhat_i mean_j(g_j xhat_j))` (llm.c's
    /// `layernorm_backward`; the two means come from differentiating through `mean` and `rstd`);
    /// RMSNorm: `dx_i += rstd (g_i - xhat_i mean_j(g_j xhat_j))` (no mean to differentiate through);
    /// both: `dw_i += sum_n dout_i xhat_i`, LayerNorm `db_i += sum_n dout_i`.
    ///
    /// The per-row part (`dx`) is split over the workers; the weight and bias gradients, sums over
    /// rows, are taken by channel blocks so no two workers write the same element.
    /// - dinp, inp: [N, C] (dinp is added to: it is the residual stream's gradient); dout: [N, C];
    ///   mean (LayerNorm only), rstd: [N]; weight: [C]; dweight: [C]; dbias: [C] or nil.
    public static func normBackward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, mean: UnsafePointer<Float>?, rstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows N: Int, channels C: Int
    ) {
        Parallel.chunks(N, minimumChunk: 64, sharing: (dinp, dout, inp, mean, rstd, weight, C)) { shared, rows in
            let (dinp, dout, inp, mean, rstd, weight, C) = shared
            let vectorEnd = C & ~7
            for n in rows {
                let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C
                let m = mean?[n] ?? 0, s = rstd[n]
                let mv = V8(repeating: m), sv = V8(repeating: s)
                var gSum = V8(), gxSum = V8()
                var i = 0
                while i < vectorEnd {
                    let g = weight.load8(i) * dy.load8(i)
                    gSum += g
                    gxSum += g * ((x.load8(i) - mv) * sv)
                    i += 8
                }
                var sumG = gSum.sum(), sumGX = gxSum.sum()
                while i < C { let g = weight[i] * dy[i]; sumG += g; sumGX += g * ((x[i] - m) * s); i += 1 }
                let meanG = mean == nil ? 0 : sumG / Float(C), meanGX = sumGX / Float(C)
                let meanGv = V8(repeating: meanG), meanGXv = V8(repeating: meanGX)
                i = 0
                while i < vectorEnd {
                    let xhat = (x.load8(i) - mv) * sv
                    dx.store8(dx.load8(i) + sv * (weight.load8(i) * dy.load8(i) - meanGv - xhat * meanGXv), i)
                    i += 8
                }
                while i < C {
                    let xhat = (x[i] - m) * s
                    dx[i] += s * (weight[i] * dy[i] - meanG - xhat * meanGX)
                    i += 1
                }
            }
        }
        let blocks = (C + 7) / 8
        Parallel.chunks(blocks, minimumChunk: 8, sharing: (dweight, dbias, dout, inp, mean, rstd, N, C, blocks)) {
            shared, range in
            let (dweight, dbias, dout, inp, mean, rstd, N, C, blocks) = shared
            let c0 = range.lowerBound * 8, c1 = range.upperBound == blocks ? C : range.upperBound * 8
            for n in 0..<N {
                let x = inp + n * C, dy = dout + n * C
                let m = mean?[n] ?? 0, s = rstd[n]
                for i in c0..<c1 {
                    dweight[i] += dy[i] * ((x[i] - m) * s)
                    if let dbias { dbias[i] += dy[i] }
                }
            }
        }
    }
}
