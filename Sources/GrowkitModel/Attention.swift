import COpenBLAS

extension Kernels {
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


    /// Backward of ``causalAttention(out:probs:q:k:v:valuesTransposed:batchSize:seqLen:heads:kvHeads:headDim:qRowStride:kvRowStride:blockRows:wholeRows:)``
    /// from the kept probabilities `P` (whole rows, zero above the diagonal). For each batch row `b`
    /// and head `h` (kv head `g = h / (heads / kvHeads)`), with `dY` the output gradient:
    ///
    /// `dP = dY V_g^T`, `dV_g += P^T dY` (summed over the heads that share `g`),
    /// `dS_tj = P_tj (dP_tj - sum_k P_tk dP_tk)` (softmax backward; 0 where masked, since `P` is),
    /// `dQ_h = dS K_g / sqrt(hd)`, `dK_g += dS^T Q_h / sqrt(hd)`.
    ///
    /// Work is split by (b, g): the heads that write the same `dK_g`, `dV_g` run on one worker,
    /// in order, so sums do not race and do not depend on the worker count. Rows go in blocks of
    /// `blockRows` like the forward pass: block `[r0, r1)` touches only columns `[0, r1)`.
    /// `dQ = dS K` reads `K` transposed (`keysTransposed`) so that, as in the forward pass, no sgemm
    /// has the (no-transpose, no-transpose) form whose OpenBLAS 0.3.21 small-matrix kernel mallocs.
    /// - dout: [B, T, heads*hd]; probs: [B, heads, T, T]; q, dq: [B, T, heads*hd] with row stride
    ///   `qRowStride`; k, v, dk, dv: [B, T, kvHeads*hd] with row stride `kvRowStride` (dk, dv are
    ///   overwritten); dscores: [B, heads, T, T] scratch; keysTransposed: [B, kvHeads, hd, T] scratch.
    public static func causalAttentionBackward(
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        dscores: UnsafeMutablePointer<Float>, keysTransposed: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        batchSize B: Int, seqLen T: Int, heads: Int, kvHeads: Int, headDim hd: Int,
        qRowStride: Int? = nil, kvRowStride: Int? = nil, blockRows: Int = 64
    ) {
        let outWidth = heads * hd
        let qWidth = qRowStride ?? outWidth, kvWidth = kvRowStride ?? kvHeads * hd
        let scale = Float(1 / Double(hd).squareRoot())
        let shared = (dq, dk, dv, dscores, keysTransposed, dout, probs, q, k, v, T, heads, kvHeads, hd, qWidth, kvWidth,
                      outWidth, scale, blockRows)
        Parallel.chunksCallingBLAS(B * kvHeads, sharing: shared) { shared, pairs in
            let (dq, dk, dv, dscores, keysTransposed, dout, probs, q, k, v, T, heads, kvHeads, hd, qWidth, kvWidth,
                 outWidth, scale, blockRows) = shared
            let group = heads / kvHeads
            for pair in pairs {
                let b = pair / kvHeads, g = pair % kvHeads
                let kg = k + b * T * kvWidth + g * hd, vg = v + b * T * kvWidth + g * hd
                let dkg = dk + b * T * kvWidth + g * hd, dvg = dv + b * T * kvWidth + g * hd
                // Kt[d, j] = K[j, d]; dK and dV of this (b, g) start at zero.
                let kt = keysTransposed + pair * hd * T
                for j in 0..<T {
                    for d in 0..<hd { kt[d * T + j] = kg[j * kvWidth + d] }
                    (dkg + j * kvWidth).update(repeating: 0, count: hd)
                    (dvg + j * kvWidth).update(repeating: 0, count: hd)
                }
                for h in (g * group)..<((g + 1) * group) {
                    let qh = q + b * T * qWidth + h * hd, dqh = dq + b * T * qWidth + h * hd
                    let dy = dout + b * T * outWidth + h * hd
                    let p = probs + (b * heads + h) * T * T, ds = dscores + (b * heads + h) * T * T
                    var r0 = 0
                    while r0 < T {
                        let r1 = Swift.min(T, r0 + blockRows), rows = r1 - r0
                        // dP[r0..<r1, 0..<r1] = dY[r0..<r1] V[0..<r1]^T
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(r1), Int32(hd),
                            1, dy + r0 * outWidth, Int32(outWidth), vg, Int32(kvWidth), 0, ds + r0 * T, Int32(T))
                        // dV[0..<r1] += P[r0..<r1, 0..<r1]^T dY[r0..<r1]
                        cblas_sgemm(
                            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r1), Int32(hd), Int32(rows),
                            1, p + r0 * T, Int32(T), dy + r0 * outWidth, Int32(outWidth), 1, dvg, Int32(kvWidth))
                        for t in r0..<r1 { softmaxBackwardRow(ds + t * T, probs: p + t * T, count: r1) }
                        // dQ[r0..<r1] = scale dS[r0..<r1, 0..<r1] K[0..<r1] = scale dS Kt[:, 0..<r1]^T
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(hd), Int32(r1),
                            scale, ds + r0 * T, Int32(T), kt, Int32(T), 0, dqh + r0 * qWidth, Int32(qWidth))
                        // dK[0..<r1] += scale dS[r0..<r1, 0..<r1]^T Q[r0..<r1]
                        cblas_sgemm(
                            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r1), Int32(hd), Int32(rows),
                            scale, ds + r0 * T, Int32(T), qh + r0 * qWidth, Int32(qWidth), 1, dkg, Int32(kvWidth))
                        r0 = r1
                    }
                }
            }
        }
    }

    /// Softmax backward of one row in place: `d_j <- p_j (d_j - sum_k p_k d_k)` for `j < count`.
    @inline(__always)
    static func softmaxBackwardRow(_ d: UnsafeMutablePointer<Float>, probs p: UnsafePointer<Float>, count: Int) {
        let vectorEnd = count & ~7
        var acc = V8()
        var i = 0
        while i < vectorEnd { acc += p.load8(i) * d.load8(i); i += 8 }
        var dot = acc.sum()
        while i < count { dot += p[i] * d[i]; i += 1 }
        let dotv = V8(repeating: dot)
        i = 0
        while i < vectorEnd { d.store8(p.load8(i) * (d.load8(i) - dotv), i); i += 8 }
        while i < count { d[i] = p[i] * (d[i] - dot); i += 1 }
    }
}
