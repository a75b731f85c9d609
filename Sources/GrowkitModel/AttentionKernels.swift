import COpenBLAS
import Foundation

extension Kernels {
    /// RoPE tables as HF `LlamaRotaryEmbedding` computes them in float32:
    /// `inv_freq_i = 1 / theta^(2i / head_dim)` for `i < head_dim/2`,
    /// `angle[t, i] = t * inv_freq_i`, `cos[t, i] = cos(angle)`, `sin[t, i] = sin(angle)`.
    /// Each step is rounded to float32 where torch rounds it, so tables match bit for bit up to libm ulps.
    /// - cos, sin: [T, head_dim/2].
    public static func ropeTables(
        cos cosTable: UnsafeMutablePointer<Float>, sin sinTable: UnsafeMutablePointer<Float>,
        seqLen T: Int, headDim: Int, theta: Double
    ) {
        let half = headDim / 2
        for i in 0..<half {
            let exponent = Float(2 * i) / Float(headDim)
            let invFreq = 1 / Float(Foundation.pow(theta, Double(exponent)))
            for t in 0..<T {
                let angle = Float(t) * invFreq
                cosTable[t * half + i] = Float(Foundation.cos(Double(angle)))
                sinTable[t * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
    }

    /// Rotary position embedding (Su et al. 2021) in place, HF `rotate_half`
    /// convention: within each head, the pair is `(x_i, x_{i + hd/2})` for `i < hd/2`:
    ///
    /// `x'_i = x_i cos_ti - x_{i+hd/2} sin_ti`, `x'_{i+hd/2} = x_{i+hd/2} cos_ti + x_i sin_ti`.
    /// - x: [B, T, heads, hd] with row stride `rowStride` floats between positions
    ///   (heads * hd for a plain tensor); cos, sin: [T, hd/2].
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, cos cosTable: UnsafePointer<Float>, sin sinTable: UnsafePointer<Float>,
        batchSize B: Int, seqLen T: Int, heads: Int, headDim hd: Int, rowStride: Int
    ) {
        Parallel.chunks(B * T, minimumChunk: 256, sharing: (x, cosTable, sinTable, T, heads, hd, rowStride)) {
            shared, positions in
            let (x, cosTable, sinTable, T, heads, hd, rowStride) = shared
            let half = hd / 2
            let vectorEnd = half & ~7
            for position in positions {
                let t = position % T
                let c = cosTable + t * half, s = sinTable + t * half
                for h in 0..<heads {
                    let lo = x + position * rowStride + h * hd
                    let hi = lo + half
                    var i = 0
                    while i < vectorEnd {
                        let x1 = lo.load8(i), x2 = hi.load8(i), cv = c.load8(i), sv = s.load8(i)
                        lo.store8(x1 * cv - x2 * sv, i)
                        hi.store8(x2 * cv + x1 * sv, i)
                        i += 8
                    }
                    while i < half {
                        let x1 = lo[i], x2 = hi[i]
                        lo[i] = x1 * c[i] - x2 * s[i]
                        hi[i] = x2 * c[i] + x1 * s[i]
                        i += 1
                    }
                }
            }
        }
    }

    /// In-place causal softmax of one score row: entries `0...t` become
    /// `exp(s_j - max) / sum_k exp(s_k - max)`, entries `t+1 ..< rowLength` become 0.
    /// Masked lanes of the last partial vector are set to -inf first, so the whole
    /// row runs in full vectors (`FastMath.exp(-inf) = 0`) with no scalar tail.
    @inline(__always)
    static func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, rowLength: Int) {
        let padded = Swift.min((valid + 7) & ~7, rowLength & ~7)
        let vectorEnd = Swift.max(padded, valid & ~7)
        if vectorEnd > valid { (row + valid).update(repeating: -.infinity, count: vectorEnd - valid) }
        var maxv = V8(repeating: -.infinity)
        var i = 0
        while i < vectorEnd { maxv = FastMath.max(maxv, row.load8(i)); i += 8 }
        var m = maxv.max()
        while i < valid { m = Swift.max(m, row[i]); i += 1 }
        let mv = V8(repeating: m)
        var acc = V8()
        i = 0
        while i < vectorEnd {
            let e = FastMath.exp(row.load8(i) - mv)
            row.store8(e, i)
            acc += e
            i += 8
        }
        var sum = acc.sum()
        while i < valid { let e = FastMath.exp(row[i] - m); row[i] = e; sum += e; i += 1 }
        let inv = 1 / sum
        let iv = V8(repeating: inv)
        i = 0
        while i < vectorEnd { row.store8(row.load8(i) * iv, i); i += 8 }
        while i < valid { row[i] *= inv; i += 1 }
        let written = Swift.max(vectorEnd, valid)
        if written < rowLength { (row + written).update(repeating: 0, count: rowLength - written) }
    }

    /// Causal multi-head attention with grouped-query heads (Vaswani et al.
    /// 2017; Ainslie et al. 2023). Query head `h` reads key/value head
    /// `h / (heads / kvHeads)`. For each batch row `b` and head `h`:
    ///
    /// `S = Q_h K_g^T / sqrt(hd)` masked to `j <= t`, `P = softmax_rows(S)`, `Y_h = P V_g`.
    ///
    /// Rows are processed in blocks of `blockRows`: block `[r0, r1)` needs only
    /// columns `[0, r1)`, so the two sgemm calls skip about half the masked work.
    ///
    /// `P V` reads `V` transposed (`valuesTransposed`, written here first), so both
    /// sgemm calls have the (no-transpose, transpose) form of the projections: OpenBLAS
    /// 0.3.21's AVX-512 small-matrix kernel for the (no-transpose, no-transpose) form
    /// mallocs a buffer on every call, and the forward pass promises not to allocate.
    /// - q: [B, T, heads*hd] with row stride `qRowStride`; k, v: [B, T, kvHeads*hd] with row
    ///   stride `kvRowStride` (both default to the packed widths; the forward pass passes the
    ///   fused qkv width); probs: [B, heads, T, T] (kept for backward; masked entries written
    ///   as 0, or with `wholeRows` false only those a block's `P V` reads, columns below the
    ///   block's end: enough for a forward-only pass, where nothing reads probs afterwards);
    ///   valuesTransposed: [B, kvHeads, hd, T] scratch (overwritten); out: [B, T, heads*hd].
    public static func causalAttention(
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        valuesTransposed: UnsafeMutablePointer<Float>,
        batchSize B: Int, seqLen T: Int, heads: Int, kvHeads: Int, headDim hd: Int,
        qRowStride: Int? = nil, kvRowStride: Int? = nil, blockRows: Int = 64, wholeRows: Bool = true
    ) {
        let outWidth = heads * hd
        let qWidth = qRowStride ?? outWidth, kvWidth = kvRowStride ?? kvHeads * hd
        let group = heads / kvHeads
        let scale = Float(1 / Double(hd).squareRoot())
        let vt = valuesTransposed
        // Vt[b, g, d, j] = V[b, j, g*hd + d]
        Parallel.chunks(B * kvHeads, minimumChunk: 1, sharing: (vt, v, T, kvHeads, hd, kvWidth)) { shared, pairs in
            let (vt, v, T, kvHeads, hd, kvWidth) = shared
            for pair in pairs {
                let b = pair / kvHeads, g = pair % kvHeads
                let source = v + b * T * kvWidth + g * hd, target = vt + pair * hd * T
                for j in 0..<T {
                    for d in 0..<hd { target[d * T + j] = source[j * kvWidth + d] }
                }
            }
        }
        // (b, h) pairs are independent: split them over the workers, each running single-threaded sgemm.
        let shared = (out, probs, q, k, UnsafePointer(vt), T, heads, kvHeads, hd, group, scale, qWidth, kvWidth, outWidth,
                      blockRows, wholeRows)
        Parallel.chunksCallingBLAS(B * heads, sharing: shared) { shared, pairs in
            let (out, probs, q, k, vt, T, heads, kvHeads, hd, group, scale, qWidth, kvWidth, outWidth, blockRows,
                 wholeRows) = shared
            for pair in pairs {
                let b = pair / heads, h = pair % heads
                let g = h / group
                let qh = q + b * T * qWidth + h * hd
                let kh = k + b * T * kvWidth + g * hd
                let vth = vt + (b * kvHeads + g) * hd * T
                let p = probs + (b * heads + h) * T * T
                let y = out + b * T * outWidth + h * hd
                var r0 = 0
                while r0 < T {
                    let r1 = Swift.min(T, r0 + blockRows)
                    let rows = r1 - r0
                    // S[r0..<r1, 0..<r1] = scale * Q[r0..<r1] K[0..<r1]^T
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(r1), Int32(hd),
                        scale, qh + r0 * qWidth, Int32(qWidth), kh, Int32(kvWidth), 0, p + r0 * T, Int32(T))
                    for t in r0..<r1 { causalSoftmaxRow(p + t * T, valid: t + 1, rowLength: wholeRows ? T : r1) }
                    // Y[r0..<r1] = P[r0..<r1, 0..<r1] V[0..<r1] = P[r0..<r1, 0..<r1] Vt[:, 0..<r1]^T
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(hd), Int32(r1),
                        1, p + r0 * T, Int32(T), vth, Int32(T), 0, y + r0 * outWidth, Int32(outWidth))
                    r0 = r1
                }
            }
        }
    }
}
