/// Summary statistics of one tensor, for `inspect --stats`. Finite elements
/// only enter the moments; NaN and infinities are counted separately.
///
/// With `x_i` the `n` finite elements, accumulated in float64:
/// `mean = sum x_i / n`, `std = sqrt(sum (x_i - mean)^2 / n)` (population, as
/// `torch.std(unbiased=False)`), `rms = sqrt(sum x_i^2 / n)`. Welford's update
/// keeps the variance accurate when `|mean| >> std`.
public struct TensorStatistics: Sendable, Hashable, Codable {
    public var count: Int
    public var finiteCount: Int
    public var mean: Double
    public var std: Double
    public var rms: Double
    /// Smallest and largest finite element; `nil` when there is none.
    public var min: Float?
    public var max: Float?
    public var nanCount: Int
    public var infCount: Int

    public init(_ values: [Float]) {
        var n = 0, nan = 0, inf = 0
        var mean = 0.0, m2 = 0.0, sumSquares = 0.0
        var low = Float.infinity, high = -Float.infinity
        for value in values {
            if value.isNaN { nan += 1; continue }
            if value.isInfinite { inf += 1; continue }
            n += 1
            let x = Double(value)
            let delta = x - mean
            mean += delta / Double(n)
            m2 += delta * (x - mean)
            sumSquares += x * x
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        count = values.count
        finiteCount = n
        self.mean = n > 0 ? mean : .nan
        std = n > 0 ? (m2 / Double(n)).squareRoot() : .nan
        rms = n > 0 ? (sumSquares / Double(n)).squareRoot() : .nan
        min = n > 0 ? low : nil
        max = n > 0 ? high : nil
        nanCount = nan
        infCount = inf
    }
}
