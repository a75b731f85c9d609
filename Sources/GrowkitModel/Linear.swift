import COpenBLAS

extension Kernels {
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


    /// Backward of ``linear(out:inp:weight:bias:rows:inFeatures:outFeatures:accumulate:threading:)``,
    /// `Y = X W^T + b` with `X [N, in]`, `W [out, in]`, `dY [N, out]`:
    ///
    /// `dX (+)= dY · W` (`[N, in]`, added when `accumulateInput`, e.g. into the residual gradient),
    /// `dW += dY^T · X` (`[out, in]`), `db += sum_n dY[n, :]` (`[out]`).
    ///
    /// `dX` is split by rows and `dW`, `db` by output features over ``Parallel/workers``, each part a
    /// single-threaded sgemm (the caller keeps OpenBLAS at one thread, as the forward pass does), so
    /// no two workers write the same element and the result does not depend on the worker count.
    /// - dinp: [N, inFeatures] or nil (the embedding input needs none); dweight: [outFeatures, inFeatures];
    ///   dbias: [outFeatures] or nil; dout: [N, outFeatures]; inp: [N, inFeatures]; weight: [outFeatures, inFeatures].
    public static func linearBackward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows N: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool = false
    ) {
        if let dinp {
            let shared = (dinp, dout, weight, inFeatures, outFeatures, accumulateInput)
            Parallel.chunks(N, minimumChunk: 32, sharing: shared) { shared, rows in
                let (dinp, dout, weight, inFeatures, outFeatures, accumulate) = shared
                // dX[rows] (+)= dY[rows] · W
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(inFeatures), Int32(outFeatures),
                    1, dout + rows.lowerBound * outFeatures, Int32(outFeatures), weight, Int32(inFeatures),
                    accumulate ? 1 : 0, dinp + rows.lowerBound * inFeatures, Int32(inFeatures))
            }
        }
        // Blocks of 16 output features keep each worker's slice a whole number of SIMD kernel widths.
        let blocks = (outFeatures + 15) / 16
        let shared = (dweight, dbias, dout, inp, N, inFeatures, outFeatures, blocks)
        Parallel.chunks(blocks, minimumChunk: 2, sharing: shared) { shared, range in
            let (dweight, dbias, dout, inp, N, inFeatures, outFeatures, blocks) = shared
            let o0 = range.lowerBound * 16
            let o1 = range.upperBound == blocks ? outFeatures : range.upperBound * 16
            // dW[o0..<o1] += dY[:, o0..<o1]^T · X
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(o1 - o0), Int32(inFeatures), Int32(N),
                1, dout + o0, Int32(outFeatures), inp, Int32(inFeatures), 1, dweight + o0 * inFeatures, Int32(inFeatures))
            if let dbias {
                for n in 0..<N { add(out: dbias + o0, inp: dout + n * outFeatures + o0, count: o1 - o0) }
            }
        }
    }
}
