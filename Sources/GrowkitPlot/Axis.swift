import Foundation

/// One axis: a data domain mapped onto a pixel range, linearly or by log10.
public struct Axis: Sendable, Hashable {
    public var scale: AxisScale
    /// Data values at the two ends (`lower < upper`; both positive on a log axis).
    public var lower: Double
    public var upper: Double
    /// Pixels of `lower` and `upper` (for y, `from` is the bottom: larger).
    public var from: Double
    public var to: Double

    public init(scale: AxisScale, lower: Double, upper: Double, from: Double, to: Double) {
        self.scale = scale
        self.lower = lower
        self.upper = upper
        self.from = from
        self.to = to
    }

    func transform(_ value: Double) -> Double { scale == .log ? log10(value) : value }

    /// The pixel of a data value.
    public func pixel(_ value: Double) -> Double {
        let t = (transform(value) - transform(lower)) / (transform(upper) - transform(lower))
        return from + t * (to - from)
    }

    /// The domain of `values`: linear axes from 0 when every value is >= 0 (`startAtZero`),
    /// else from the minimum; log axes from the minimum; `padding` (a fraction of the span,
    /// in log units on a log axis) added at both ends. A single value gets a span of
    /// +-10% (+-1 at 0).
    public static func domain(_ values: [Double], scale: AxisScale, startAtZero: Bool, padding: Double) -> (Double, Double) {
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if scale == .linear && startAtZero && lo >= 0 { lo = 0 }
        if scale == .log {
            var a = log10(lo), b = log10(hi)
            if a == b { a -= 0.05; b += 0.05 }
            let pad = (b - a) * padding
            return (pow(10, a - pad), pow(10, b + pad))
        }
        if lo == hi {
            let half = lo == 0 ? 1 : abs(lo) * 0.1
            return (lo - half, hi + half)
        }
        let pad = (hi - lo) * padding
        return (lo == 0 && startAtZero ? 0 : lo - pad, hi + pad)
    }
}

/// Tick values at "nice" numbers: multiples of 1, 2 or 5 times a power of ten.
public enum Ticks {
    /// The nice step nearest to `span / target` (1, 2 or 5 times a power of ten).
    public static func step(span: Double, target: Int) -> Double {
        let raw = span / Double(max(target, 1))
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    /// Linear ticks in `[lower, upper]`, with their step.
    public static func linear(_ lower: Double, _ upper: Double, target: Int = 6) -> (values: [Double], step: Double) {
        let step = step(span: upper - lower, target: target)
        guard step.isFinite, step > 0, lower.isFinite, upper.isFinite else { return ([lower, upper], 0) }
        var values: [Double] = []
        var k = ceil(lower / step - 1e-9)
        while k * step <= upper + step * 1e-9 {
            values.append(k * step == 0 ? 0 : k * step)  // no -0
            k += 1
        }
        return (values, step)
    }

    /// Log ticks in `[lower, upper]` and step 0: powers of ten (every `k`-th decade when
    /// there are many) over three decades or more; 1, 2, 5 per decade over one to three;
    /// inside less than a decade (a loss between 3 and 15), the coarsest of 1-2-5, 1-2-3-5,
    /// 1-1.5-2-2.5-3-4-5-6-8 and a finer set that gives four ticks; linear nice ticks (with their
    /// step) when even the finest gives fewer (a loss between 5.12 and 5.46).
    public static func log(_ lower: Double, _ upper: Double, target: Int = 6) -> (values: [Double], step: Double) {
        let decades = log10(upper / lower)
        if decades >= 3 {
            let every = max(1, Int(ceil(decades / Double(target))))
            var values: [Double] = []
            var e = Int(ceil(log10(lower) - 1e-9))
            while Double(e) <= log10(upper) + 1e-9 {
                if e % every == 0 { values.append(pow(10, Double(e))) }
                e += 1
            }
            return (values, 0)
        }
        if decades >= 1 {
            var values: [Double] = []
            var e = Int(floor(log10(lower)))
            while pow(10, Double(e)) <= upper {
                for m in [1.0, 2, 5] {
                    let v = m * pow(10, Double(e))
                    if v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) { values.append(v) }
                }
                e += 1
            }
            return (values, 0)
        }
        // Less than a decade: the coarsest set of nice mantissas that gives at least four
        // ticks (3, 4, 5, 6, 8, 10 on a loss axis from 2.7 to 15), else linear nice ticks.
        let sets: [[Double]] = [[1, 2, 5], [1, 2, 3, 5], [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8],
                                [1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9]]
        for mantissas in sets {
            var values: [Double] = []
            for e in Int(floor(log10(lower)))...Int(ceil(log10(upper))) {
                for m in mantissas {
                    let v = m * pow(10, Double(e))
                    if v >= lower * (1 - 1e-12) && v <= upper * (1 + 1e-12) { values.append(v) }
                }
            }
            if values.count >= 4 { return (values, 0) }
        }
        return linear(lower, upper, target: target)
    }
}
