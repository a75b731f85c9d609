import Foundation

/// How a noisy loss curve's log-log slope is smoothed: an ordinary
/// least-squares line of `log10 L` on `log10 C` over a trailing window that
/// spans `windowDecades` decades of compute (0.2 decades: the last 37% of the
/// compute, C from C_last / 10^0.2 to C_last), with at least `minimumPoints`
/// records in it.
///
/// A least-squares line through a curve that is locally quadratic in
/// `u = log10 C` has the curve's exact derivative at the window's mean `u`
/// (the second-order term only enters through the third central moment of the
/// `u` values, zero for a symmetric window). So the fitted slope is attributed
/// to the window's centre `10^mean(u)`, not to its last point: a live
/// estimate of "the slope now" necessarily lags by about half a window.
public struct SlopeSmoothing: Sendable, Hashable, Codable {
    /// Width of the trailing window in decades of compute (log10 units).
    public var windowDecades: Double
    /// Fewest records a window may hold.
    public var minimumPoints: Int

    public init(windowDecades: Double = 0.2, minimumPoints: Int = 8) {
        self.windowDecades = windowDecades
        self.minimumPoints = minimumPoints
    }
}

/// One smoothed slope estimate.
public struct SmoothedSlope: Sendable, Hashable, Codable {
    /// Fitted `d log10 L / d log10 C`.
    public var slope: Double
    /// Standard error of the fitted slope (0 for a noiseless curve; infinite
    /// with fewer than 3 points).
    public var standardError: Double
    /// `10^mean(log10 C)` over the window: where the estimate applies (FLOPs).
    public var centreFlops: Double
    /// Records in the window.
    public var points: Int
}

/// Least-squares slope of `y` on `x`, with its standard error and the mean of `x`.
func leastSquaresSlope(_ xs: ArraySlice<Double>, _ ys: ArraySlice<Double>) -> (slope: Double, standardError: Double, meanX: Double) {
    let n = Double(xs.count)
    var meanX = 0.0, meanY = 0.0
    for i in xs.indices { meanX += xs[i]; meanY += ys[i] }
    meanX /= n
    meanY /= n
    var sxx = 0.0, sxy = 0.0
    for i in xs.indices {
        sxx += (xs[i] - meanX) * (xs[i] - meanX)
        sxy += (xs[i] - meanX) * (ys[i] - meanY)
    }
    let slope = sxy / sxx
    var residual = 0.0
    for i in xs.indices {
        let r = ys[i] - meanY - slope * (xs[i] - meanX)
        residual += r * r
    }
    let standardError = xs.count > 2 ? (residual / (n - 2) / sxx).squareRoot() : .infinity
    return (slope, standardError, meanX)
}

/// Smoothed slopes of `log10 L` over `log10 C` for every trailing window that
/// holds enough points, in order of the window's last record. `log10Flops`
/// must be strictly increasing; both arrays have the same length.
func trailingWindowSlopes(log10Flops: [Double], log10Loss: [Double], smoothing: SlopeSmoothing) -> [SmoothedSlope] {
    var result: [SmoothedSlope] = []
    var start = 0
    for end in log10Flops.indices {
        while log10Flops[start] < log10Flops[end] - smoothing.windowDecades { start += 1 }
        let count = end - start + 1
        guard count >= max(smoothing.minimumPoints, 2) else { continue }
        let fit = leastSquaresSlope(log10Flops[start...end], log10Loss[start...end])
        result.append(SmoothedSlope(slope: fit.slope, standardError: fit.standardError,
                                    centreFlops: pow(10, fit.meanX), points: count))
    }
    return result
}

/// A training run's recorded loss curve, as `/history` stores it.
/// Units: `steps` are optimizer steps, `losses` nats per token.
public struct LossHistory: Sendable, Hashable, Codable {
    public var steps: [Double]
    public var losses: [Double]

    public init(steps: [Double], losses: [Double]) {
        self.steps = steps
        self.losses = losses
    }
}

/// Whether a run has reached the staged-training growth point, judged from its
/// own history.
public struct GrowthAssessment: Sendable, Hashable, Codable {
    /// The latest smoothed slope of log L over log C.
    public var latest: SmoothedSlope
    /// The step at the window centre (`centreFlops / (6 N B)`).
    public var centreStep: Double
    /// The threshold compared against.
    public var threshold: Double
    /// `latest.slope > threshold`.
    public var timeToGrow: Bool
    /// Last recorded step and loss.
    public var lastStep: Double
    public var lastLoss: Double
}

extension LossHistory {
    /// Judges whether the curve's smoothed slope `d log L / d log C`, with
    /// C = 6 N B S, has risen above `threshold` (staged training's growth
    /// signal). Records at step <= 0 are skipped (log C is undefined there).
    ///
    /// - Parameters:
    ///   - parameters: N, the model's parameter count (sets C's scale only;
    ///     the slope does not depend on it).
    ///   - tokensPerStep: B (likewise).
    public func assessGrowth(parameters: Double, tokensPerStep: Double, threshold: Double,
                             smoothing: SlopeSmoothing = SlopeSmoothing()) throws(PlanError) -> GrowthAssessment {
        guard parameters > 0, parameters.isFinite else { throw .notPositive(name: "parameter count N", value: parameters) }
        guard tokensPerStep > 0, tokensPerStep.isFinite else {
            throw .notPositive(name: "batch size in tokens per step B", value: tokensPerStep)
        }
        guard smoothing.windowDecades > 0, smoothing.windowDecades.isFinite else {
            throw .notPositive(name: "smoothing window in decades", value: smoothing.windowDecades)
        }
        guard steps.count == losses.count else {
            throw .invalidHistory(reason: "it has \(steps.count) steps but \(losses.count) losses")
        }
        guard !steps.isEmpty else { throw .invalidHistory(reason: "it has no records") }
        let scale = log10(6 * parameters * tokensPerStep)
        var log10Flops: [Double] = [], log10Loss: [Double] = []
        for (index, (step, loss)) in zip(steps, losses).enumerated() where step > 0 {
            guard step.isFinite else { throw .invalidHistory(reason: "record \(index) has step \(step)") }
            guard loss > 0, loss.isFinite else {
                throw .invalidHistory(reason: "record \(index) (step \(formatScientific(step))) has loss \(loss), not a positive finite number")
            }
            let u = scale + log10(step)
            if let previous = log10Flops.last, u <= previous {
                throw .invalidHistory(reason: "its steps are not increasing at record \(index) (step \(formatScientific(step)))")
            }
            log10Flops.append(u)
            log10Loss.append(log10(loss))
        }
        let needed = max(smoothing.minimumPoints, 3)
        guard let lastU = log10Flops.last else {
            throw .invalidHistory(reason: "it has no record after step 0")
        }
        // Only the latest window matters here: fit it alone (O(window), not O(n window)).
        let start = log10Flops.firstIndex { $0 >= lastU - smoothing.windowDecades } ?? log10Flops.count - 1
        let inWindow = log10Flops.count - start
        guard inWindow >= needed else {
            throw .historyTooShort(points: inWindow, needed: needed, windowDecades: smoothing.windowDecades)
        }
        let fit = leastSquaresSlope(log10Flops[start...], log10Loss[start...])
        let latest = SmoothedSlope(slope: fit.slope, standardError: fit.standardError,
                                   centreFlops: pow(10, fit.meanX), points: inWindow)
        return GrowthAssessment(
            latest: latest, centreStep: latest.centreFlops / pow(10, scale), threshold: threshold,
            timeToGrow: latest.slope > threshold,
            lastStep: steps.last(where: { $0 > 0 }) ?? 0, lastLoss: pow(10, log10Loss[log10Loss.count - 1]))
    }
}
