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
        rotateHalves(x, cos: cosTable, sin: sinTable, sinSign: 1, batchSize: B, seqLen: T, heads: heads, headDim: hd,
                     rowStride: rowStride)
    }

    /// Backward of ``rope(_:cos:sin:batchSize:seqLen:heads:headDim:rowStride:)`` in place: each pair
    /// is rotated by a 2x2 rotation matrix `R`, so its gradient is rotated by `R^T`, the rotation by
    /// the opposite angle (`sin -> -sin`):
    ///
    /// `dx_i = dy_i cos_ti + dy_{i+hd/2} sin_ti`, `dx_{i+hd/2} = dy_{i+hd/2} cos_ti - dy_i sin_ti`.
    /// - dx: [B, T, heads, hd] with row stride `rowStride` (the q or k slice of the fused q/k/v gradient).
    public static func ropeBackward(
        _ dx: UnsafeMutablePointer<Float>, cos cosTable: UnsafePointer<Float>, sin sinTable: UnsafePointer<Float>,
        batchSize B: Int, seqLen T: Int, heads: Int, headDim hd: Int, rowStride: Int
    ) {
        rotateHalves(dx, cos: cosTable, sin: sinTable, sinSign: -1, batchSize: B, seqLen: T, heads: heads,
                     headDim: hd, rowStride: rowStride)
    }

    /// Rotates every (x_i, x_{i+hd/2}) pair by the angle whose sine is `sinSign * sin_ti`.
    static func rotateHalves(
        _ x: UnsafeMutablePointer<Float>, cos cosTable: UnsafePointer<Float>, sin sinTable: UnsafePointer<Float>,
        sinSign: Float, batchSize B: Int, seqLen T: Int, heads: Int, headDim hd: Int, rowStride: Int
    ) {
        let shared = (x, cosTable, sinTable, sinSign, T, heads, hd, rowStride)
        Parallel.chunks(B * T, minimumChunk: 256, sharing: shared) { shared, positions in
            let (x, cosTable, sinTable, sinSign, T, heads, hd, rowStride) = shared
            let half = hd / 2
            let vectorEnd = half & ~7
            let sign = V8(repeating: sinSign)
            for position in positions {
                let t = position % T
                let c = cosTable + t * half, s = sinTable + t * half
                for h in 0..<heads {
                    let lo = x + position * rowStride + h * hd
                    let hi = lo + half
                    var i = 0
                    while i < vectorEnd {
                        let x1 = lo.load8(i), x2 = hi.load8(i), cv = c.load8(i), sv = s.load8(i) * sign
                        lo.store8(x1 * cv - x2 * sv, i)
                        hi.store8(x2 * cv + x1 * sv, i)
                        i += 8
                    }
                    while i < half {
                        let x1 = lo[i], x2 = hi[i], si = s[i] * sinSign
                        lo[i] = x1 * c[i] - x2 * si
                        hi[i] = x2 * c[i] + x1 * si
                        i += 1
                    }
                }
            }
        }
    }
}
