extension Kernels {
    /// The scalars of one AdamW update of one tensor (torch computes them in float64 and hands the
    /// kernels float32): `decay = 1 - lr wd` (1 when the tensor does not decay), `beta1`, `beta2`,
    /// `stepSize = lr / (1 - beta1^t)`, `correction2 = sqrt(1 - beta2^t)`, `eps`, and `clip`, the
    /// factor of clip_grad_norm_ (1: no clipping).
    public struct AdamWScalars: Sendable {
        public var decay, beta1, beta2, stepSize, correction2, eps, clip: Float

        public init(decay: Float, beta1: Float, beta2: Float, stepSize: Float, correction2: Float, eps: Float, clip: Float) {
            self.decay = decay
            self.beta1 = beta1
            self.beta2 = beta2
            self.stepSize = stepSize
            self.correction2 = correction2
            self.eps = eps
            self.clip = clip
        }
    }

    /// One AdamW update of a tensor in place, as `torch.optim.AdamW`'s single-tensor path
    /// (Loshchilov and Hutter 2019), after `g *= clip`:
    ///
    /// `theta *= decay`, `m += (1 - beta1)(g - m)` (torch's `lerp_`), `v = beta2 v + (1 - beta2) g^2`,
    /// `theta -= stepSize * m / (sqrt(v) / correction2 + eps)`.
    /// Here in GrowkitModel because this module is optimized in every build (the trainer's debug build
    /// is not): the loop then vectorizes and its parallel parts are specialized, so it allocates nothing.
    /// - param, grad (clipped in place), expAvg, expAvgSq: [count].
    public static func adamw(
        param: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, expAvg: UnsafeMutablePointer<Float>,
        expAvgSq: UnsafeMutablePointer<Float>, count: Int, _ s: AdamWScalars
    ) {
        Parallel.chunks(count, minimumChunk: 1 << 15, sharing: (param, grad, expAvg, expAvgSq, s)) { shared, range in
            let (p, g, m, v, s) = shared
            let oneMinusBeta2 = 1 - s.beta2
            for j in range {
                let gj = s.clip == 1 ? g[j] : g[j] * s.clip
                g[j] = gj
                let theta = p[j] * s.decay
                let mj = m[j] + s.beta1 * (gj - m[j])
                let vj = v[j] * s.beta2 + oneMinusBeta2 * gj * gj
                m[j] = mj
                v[j] = vj
                p[j] = theta + -s.stepSize * (mj / (vj.squareRoot() / s.correction2 + s.eps))
            }
        }
    }

    /// `sum_j x_j^2`, float32 partial sums of 1024 elements accumulated in float64.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        var acc = V8()
        let vectorEnd = count & ~7
        var j = 0
        while j < vectorEnd {
            let v = x.load8(j)
            acc += v * v
            j += 8
            if j & 1023 == 0 { sum += Double(acc.sum()); acc = V8() }
        }
        sum += Double(acc.sum())
        while j < count { sum += Double(x[j]) * Double(x[j]); j += 1 }
        return sum
    }
}
