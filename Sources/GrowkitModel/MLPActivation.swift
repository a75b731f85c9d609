extension Kernels {
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


    /// Backward of ``geluTanh(out:inp:count:)``. With `s = 1 / (1 + e^(-2u))` (= `(1 + tanh u) / 2`),
    /// `u = sqrt(2/pi) (x + 0.044715 x^3)` and `out = x s`:
    ///
    /// `d out / dx = s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)`, `dinp = dout * d out / dx`
    /// (`s (1 - s)` is the logistic derivative, `2 du/dx` the chain through `2u`).
    /// - dinp, dout, inp: [count] (dinp may alias dout).
    public static func geluTanhBackward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int
    ) {
        Parallel.chunks(count / 8, minimumChunk: 4096, sharing: (dinp, dout, inp)) { shared, vectors in
            let (dinp, dout, inp) = shared
            let start = vectors.lowerBound * 8
            geluTanhBackwardSerial(dinp: dinp + start, dout: dout + start, inp: inp + start, count: vectors.count * 8)
        }
        let tail = count & ~7
        geluTanhBackwardSerial(dinp: dinp + tail, dout: dout + tail, inp: inp + tail, count: count - tail)
    }

    @inline(__always)
    static func geluTanhBackwardSerial(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int
    ) {
        let c = geluExponentScale  // -2 sqrt(2/pi)
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd {
            let x = inp.load8(i)
            let s = 1 / (1 + FastMath.exp(c * (x + 0.044715 * x * x * x)))
            dinp.store8(dout.load8(i) * (s - x * s * (1 - s) * c * (1 + 0.134145 * x * x)), i)
            i += 8
        }
        while i < count {
            let x = inp[i]
            let s = 1 / (1 + FastMath.exp(c * (x + 0.044715 * x * x * x)))
            dinp[i] = dout[i] * (s - x * s * (1 - s) * c * (1 + 0.134145 * x * x))
            i += 1
        }
    }

    /// Backward of ``swiglu(out:gate:up:rows:columns:inputRowStride:)``, `out = silu(g) u` with
    /// `silu(g) = g sigma(g)`, `silu'(g) = sigma(g) (1 + g (1 - sigma(g)))`:
    ///
    /// `dgate = dout * u * silu'(g)`, `dup = dout * silu(g)`.
    /// - dout: [N, I] (row stride I); gate, up, dgate, dup: [N, I] with row stride `inputRowStride`
    ///   (2I for the column slices of the fused gate/up projection and its gradient).
    public static func swigluBackward(
        dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, rows N: Int, columns I: Int, inputRowStride: Int
    ) {
        let minimumRows = Swift.max(1, 32768 / Swift.max(I, 1))
        Parallel.chunks(N, minimumChunk: minimumRows, sharing: (dgate, dup, dout, gate, up, I, inputRowStride)) {
            shared, rows in
            let (dgate, dup, dout, gate, up, I, stride) = shared
            let vectorEnd = I & ~7
            for n in rows {
                let dg = dgate + n * stride, du = dup + n * stride, dy = dout + n * I
                let g = gate + n * stride, u = up + n * stride
                var i = 0
                while i < vectorEnd {
                    let gv = g.load8(i), sig = 1 / (1 + FastMath.exp(-gv)), d = dy.load8(i)
                    dg.store8(d * u.load8(i) * sig * (1 + gv * (1 - sig)), i)
                    du.store8(d * gv * sig, i)
                    i += 8
                }
                while i < I {
                    let gv = g[i], sig = 1 / (1 + FastMath.exp(-gv)), d = dy[i]
                    dg[i] = d * u[i] * sig * (1 + gv * (1 - sig))
                    du[i] = d * gv * sig
                    i += 1
                }
            }
        }
    }
}
