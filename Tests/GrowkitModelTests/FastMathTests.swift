import Foundation
import GrowkitModel
import Testing

@Suite("Fast vectorized exp and tanh against Foundation")
struct FastMathTests {
    /// Max relative error of `fast` against `exact` (in Double) over `count` points spread evenly on
    /// [lo, hi], evaluated 8 lanes at a time.
    func maxRelativeError(_ lo: Double, _ hi: Double, count: Int, fast: (SIMD8<Float>) -> SIMD8<Float>,
                          exact: (Double) -> Double) -> (error: Double, at: Float) {
        var worst = 0.0, at: Float = 0
        var lanes = SIMD8<Float>()
        for start in stride(from: 0, to: count, by: 8) {
            for j in 0..<8 { lanes[j] = Float(lo + (hi - lo) * Double(start + j) / Double(count - 1)) }
            let y = fast(lanes)
            for j in 0..<8 {
                let reference = exact(Double(lanes[j]))
                guard reference != 0 else { continue }
                let error = abs(Double(y[j]) - reference) / abs(reference)
                if error > worst { worst = error; at = lanes[j] }
            }
        }
        return (worst, at)
    }

    // float32 rounding alone is 2^-24 = 6e-8 relative; a few ulps (< 3e-7) is float32 accuracy.
    @Test func expIsAccurateToAFewUlps() {
        let (error, at) = maxRelativeError(-87, 88, count: 400_000, fast: FastMath.exp, exact: Foundation.exp)
        #expect(error < 3e-7, "max relative error \(error) at x = \(at)")
        let (small, at2) = maxRelativeError(-1, 1, count: 100_000, fast: FastMath.exp, exact: Foundation.exp)
        #expect(small < 3e-7, "max relative error \(small) at x = \(at2)")
    }

    @Test func expLimits() {
        let y = FastMath.exp(SIMD8<Float>(0, -88, -100, -.infinity, 100, .infinity, 1, -1))
        #expect(y[0] == 1)
        #expect(y[1] == 0 && y[2] == 0 && y[3] == 0)  // below the smallest normal: flushed to 0
        #expect(y[4].isFinite && y[4] > 1e38 && y[5].isFinite)  // saturates instead of overflowing
        #expect(Double(y[6]).isApproximatelyEqual(to: M_E, relativeTolerance: 3e-7))
    }

    @Test func tanhIsAccurateToAFewUlps() {
        // Dense near 0 (the polynomial branch and the switch at 0.625) and over the whole range.
        let (near, at1) = maxRelativeError(-1, 1, count: 200_000, fast: FastMath.tanh, exact: Foundation.tanh)
        #expect(near < 3e-7, "max relative error \(near) at x = \(at1)")
        let (wide, at2) = maxRelativeError(-20, 20, count: 400_000, fast: FastMath.tanh, exact: Foundation.tanh)
        #expect(wide < 3e-7, "max relative error \(wide) at x = \(at2)")
        let (tiny, at3) = maxRelativeError(-1e-3, 1e-3, count: 20_000, fast: FastMath.tanh, exact: Foundation.tanh)
        #expect(tiny < 3e-7, "max relative error \(tiny) at x = \(at3)")
        let limits = FastMath.tanh(SIMD8<Float>(0, 1000, -1000, .infinity, -.infinity, 0.625, -0.625, 9))
        #expect(limits[0] == 0 && limits[1] == 1 && limits[2] == -1 && limits[3] == 1 && limits[4] == -1)
    }
}
