import COpenBLAS

// Explicit forward kernels in the style of llm.c: each takes raw pointers and
// sizes, documents its tensor shapes and writes its math out. Shapes use
// N = B*T rows, C = hidden size. All tensors are row-major, last axis fastest.

@usableFromInline typealias V8 = SIMD8<Float>

extension UnsafePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) func store8(_ v: SIMD8<Float>, _ i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

/// The forward kernels. Public so the trainer's backward pass and the tests can call them one by one.
public enum Kernels {
    /// Token (+ learned position) embedding.
    ///
    /// `out[b, t, :] = wte[tokens[b, t], :] (+ wpe[t, :])`
    /// - out: [B, T, C]; tokens: [B, T] (already validated in 0..<V); wte: [V, C]; wpe: [maxPosition, C] or nil.
    public static func embed(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, wte: UnsafePointer<Float>,
        wpe: UnsafePointer<Float>?, batchSize B: Int, seqLen T: Int, channels C: Int
    ) {
        for b in 0..<B {
            for t in 0..<T {
                let o = out + (b * T + t) * C
                let e = wte + Int(tokens[b * T + t]) * C
                if let wpe {
                    let p = wpe + t * C
                    for i in 0..<C { o[i] = e[i] + p[i] }
                } else {
                    o.update(from: e, count: C)
                }
            }
        }
    }

    /// Linear layer through `cblas_sgemm` (torch `nn.Linear` layout `W[out, in]`).
    ///
    /// `Y[N, out] = X[N, in] · W^T + b` when `accumulate` is false, and
    /// `Y[N, out] += X[N, in] · W^T + b` when it is true (used to add a
    /// projection straight into the residual stream).
    ///
    /// `threading` says who runs it on several cores: `.openBLAS` makes one sgemm call threaded by
    /// OpenBLAS; `.splitRows` / `.splitColumns` split it over ``Parallel/workers``, each making a
    /// single-threaded sgemm call on its rows of `X` / columns of `Y` (the caller sets OpenBLAS to
    /// one thread, see ``Parallel/withMatmulThreading(_:_:)``). Each output element is the same
    /// dot product over `in` either way.
    /// - out: [N, outFeatures]; inp: [N, inFeatures]; weight: [outFeatures, inFeatures]; bias: [outFeatures] or nil.
    public static func linear(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows N: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false,
        threading: MatmulThreading = .openBLAS
    ) {
        switch threading {
        case .openBLAS:
            linearBlock(out: out, inp: inp, weight: weight, bias: bias, rows: N, inFeatures: inFeatures,
                        outFeatures: outFeatures, columns: outFeatures, ldOut: outFeatures, accumulate: accumulate)
        case .splitRows:
            let shared = (out, inp, weight, bias, inFeatures, outFeatures, accumulate)
            Parallel.chunks(N, minimumChunk: 32, sharing: shared) { shared, rows in
                let (out, inp, weight, bias, inFeatures, outFeatures, accumulate) = shared
                linearBlock(out: out + rows.lowerBound * outFeatures, inp: inp + rows.lowerBound * inFeatures,
                            weight: weight, bias: bias, rows: rows.count, inFeatures: inFeatures,
                            outFeatures: outFeatures, columns: outFeatures, ldOut: outFeatures, accumulate: accumulate)
            }
        case .splitColumns:
            let shared = (out, inp, weight, bias, N, inFeatures, outFeatures, accumulate)
            Parallel.chunks(outFeatures / 16, minimumChunk: 2, sharing: shared) { shared, blocks in
                let (out, inp, weight, bias, N, inFeatures, outFeatures, accumulate) = shared
                // Blocks of 16 columns keep each worker's slice a whole number of SIMD kernel widths.
                let j0 = blocks.lowerBound * 16
                let j1 = blocks.upperBound == outFeatures / 16 ? outFeatures : blocks.upperBound * 16
                linearBlock(out: out + j0, inp: inp, weight: weight + j0 * inFeatures, bias: bias.map { $0 + j0 },
                            rows: N, inFeatures: inFeatures, outFeatures: outFeatures, columns: j1 - j0,
                            ldOut: outFeatures, accumulate: accumulate)
            }
        }
    }

    /// `Y[0..<N, 0..<columns] (+)= X · W[0..<columns]^T + b[0..<columns]` with row stride `ldOut` in `Y`.
    @inline(__always)
    static func linearBlock(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows N: Int, inFeatures: Int, outFeatures: Int, columns: Int, ldOut: Int,
        accumulate: Bool
    ) {
        var beta: Float = accumulate ? 1 : 0
        if let bias {
            // Start from the bias (or add it), then let sgemm accumulate onto it: one pass fewer.
            for n in 0..<N {
                let o = out + n * ldOut
                if accumulate {
                    for j in 0..<columns { o[j] += bias[j] }
                } else {
                    o.update(from: bias, count: columns)
                }
            }
            beta = 1
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(columns), Int32(inFeatures),
            1, inp, Int32(inFeatures), weight, Int32(inFeatures), beta, out, Int32(ldOut))
    }

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

    /// GELU, tanh approximation (HF `gelu_new`, Hendrycks and Gimpel 2016):
    ///
    /// `out = 0.5 x (1 + tanh(u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`,
    /// evaluated through the exact identity `(1 + tanh u) / 2 = 1 / (1 + e^(-2u))`:
    /// `out = x / (1 + e^(-2u))`, one exponential and one division per element and no
    /// cancellation for negative `u` (where `1 + tanh u` would lose digits).
    /// - out, inp: [count] (may alias).
    public static func geluTanh(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        Parallel.chunks(count / 8, minimumChunk: 4096, sharing: (out, inp)) { shared, vectors in
            let (out, inp) = shared
            geluTanhSerial(out: out + vectors.lowerBound * 8, inp: inp + vectors.lowerBound * 8,
                           count: vectors.count * 8)
        }
        let tail = count & ~7
        geluTanhSerial(out: out + tail, inp: inp + tail, count: count - tail)
    }

    /// `-2 sqrt(2/pi)`: the factor of `x + 0.044715 x^3` in the exponent.
    static let geluExponentScale = Float(-2 * (2.0 / Double.pi).squareRoot())

    @inline(__always)
    static func geluTanhSerial(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let c = geluExponentScale
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd {
            let x = inp.load8(i)
            out.store8(x / (1 + FastMath.exp(c * (x + 0.044715 * x * x * x))), i)
            i += 8
        }
        while i < count {
            let x = inp[i]
            out[i] = x / (1 + FastMath.exp(c * (x + 0.044715 * x * x * x)))
            i += 1
        }
    }

    /// SwiGLU gating (Shazeer 2020): `out = silu(gate) * up`, `silu(g) = g / (1 + e^-g)`.
    /// - out: [N, I] (row stride I); gate, up: [N, I] with row stride `inputRowStride`
    ///   (2I when both are column slices of the fused gate/up projection).
    public static func swiglu(
        out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
        rows N: Int, columns I: Int, inputRowStride: Int
    ) {
        let minimumRows = Swift.max(1, 32768 / Swift.max(I, 1))
        Parallel.chunks(N, minimumChunk: minimumRows, sharing: (out, gate, up, I, inputRowStride)) { shared, rows in
            let (out, gate, up, I, inputRowStride) = shared
            for n in rows {
                swigluSerial(out: out + n * I, gate: gate + n * inputRowStride, up: up + n * inputRowStride,
                             count: I)
            }
        }
    }

    @inline(__always)
    static func swigluSerial(
        out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int
    ) {
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd {
            let g = gate.load8(i)
            out.store8(g / (1 + FastMath.exp(-g)) * up.load8(i), i)
            i += 8
        }
        while i < count {
            let g = gate[i]
            out[i] = g / (1 + FastMath.exp(-g)) * up[i]
            i += 1
        }
    }

    /// `out[i] += inp[i]` (residual add for the pieces sgemm cannot accumulate).
    public static func add(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd { out.store8(out.load8(i) + inp.load8(i), i); i += 8 }
        while i < count { out[i] += inp[i]; i += 1 }
    }
}
