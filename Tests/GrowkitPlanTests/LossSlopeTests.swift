import Foundation
import GrowkitPlan
import Numerics
import Testing

/// A synthetic history from the scaling law L(S) = (Nc/N)^0.076 + (Sc/S)^0.76,
/// whose slope is known exactly: d log L / d log S = -0.76 (Sc/S)^0.76 / L.
private struct SyntheticCurve {
    var parameters = 1.2e8
    let sc = 2.1e3
    var floor: Double { pow(8.8e13 / parameters, 0.076) }
    func loss(_ s: Double) -> Double { floor + pow(sc / s, 0.76) }
    func slope(_ s: Double) -> Double { -0.76 * pow(sc / s, 0.76) / loss(s) }

    /// Records every `interval` steps up to `lastStep`, with an optional
    /// deterministic multiplicative noise `1 + amplitude * sin(...)`.
    func history(lastStep: Double, interval: Double = 10, noise amplitude: Double = 0) -> LossHistory {
        let steps = Array(stride(from: interval, through: lastStep, by: interval))
        let losses = steps.enumerated().map { i, s in loss(s) * (1 + amplitude * sin(Double(i) * 2.399963)) }
        return LossHistory(steps: steps, losses: losses)
    }
}

@Suite struct LossSlopeTests {
    /// The smoothed slope equals the analytic slope at the window centre.
    /// Tolerance 2%: the least-squares line is exact at the centre for a
    /// locally quadratic curve in a symmetric window; records every 10 steps are
    /// denser at the window's end in log C, and that skew (third central
    /// moment) biases the estimate by ~1% here, as measured offline.
    @Test(arguments: [2e3, 1e4, 5e4, 2e5])
    func smoothedSlopeMatchesAnalyticSlope(lastStep: Double) throws {
        let curve = SyntheticCurve()
        let assessment = try curve.history(lastStep: lastStep)
            .assessGrowth(parameters: curve.parameters, tokensPerStep: 524_288, threshold: -0.0575)
        let analytic = curve.slope(assessment.centreStep)
        #expect(assessment.latest.slope.isApproximatelyEqual(to: analytic, relativeTolerance: 0.02),
                "fitted \(assessment.latest.slope), analytic \(analytic) at S = \(assessment.centreStep)")
        #expect(assessment.centreStep < lastStep && assessment.centreStep > lastStep / pow(10, 0.2))
        #expect(assessment.lastStep == lastStep)
        // N and B only scale C: the centre in FLOPs is 6 N B times the centre step.
        #expect(assessment.latest.centreFlops.isApproximatelyEqual(
            to: 6 * curve.parameters * 524_288 * assessment.centreStep, relativeTolerance: 1e-12))
    }

    /// Before the analytic growth point the verdict is "not yet", well after it "grow".
    @Test func verdictFlipsAroundTheAnalyticGrowthPoint() throws {
        let curve = SyntheticCurve()
        // Analytic root of slope(S) = -0.0575 for this curve: (Sc/S)^0.76 = A t / (0.76 - t).
        let t = 0.0575
        let root = curve.sc / pow(curve.floor * t / (0.76 - t), 1 / 0.76)
        let early = try curve.history(lastStep: root / 2).assessGrowth(parameters: 1.2e8, tokensPerStep: 1e6, threshold: -t)
        let late = try curve.history(lastStep: root * 3).assessGrowth(parameters: 1.2e8, tokensPerStep: 1e6, threshold: -t)
        #expect(!early.timeToGrow && early.latest.slope < -t)
        #expect(late.timeToGrow && late.latest.slope > -t)
    }

    /// With 1% deterministic noise the fit still lands within 10% of the true
    /// slope and reports a non-zero standard error (3000 points, window of
    /// 0.2 decades: the expected error of the slope is ~0.003 against a slope
    /// of ~0.05).
    @Test func noisyHistoryStillGivesTheSlope() throws {
        let curve = SyntheticCurve()
        let assessment = try curve.history(lastStep: 3e4, interval: 2, noise: 0.01)
            .assessGrowth(parameters: curve.parameters, tokensPerStep: 1e6, threshold: -0.0575)
        #expect(assessment.latest.slope.isApproximatelyEqual(to: curve.slope(assessment.centreStep), relativeTolerance: 0.1))
        #expect(assessment.latest.standardError > 0 && assessment.latest.standardError < 0.01)
    }

    @Test func stepZeroRecordsAreSkipped() throws {
        let curve = SyntheticCurve()
        var history = curve.history(lastStep: 1e4)
        history.steps.insert(0, at: 0)
        history.losses.insert(5.5, at: 0)
        let withZero = try history.assessGrowth(parameters: 1.2e8, tokensPerStep: 1e6, threshold: -0.0575)
        let without = try curve.history(lastStep: 1e4).assessGrowth(parameters: 1.2e8, tokensPerStep: 1e6, threshold: -0.0575)
        #expect(withZero == without)
    }

    @Test func badHistoriesAreErrors() {
        func assess(_ steps: [Double], _ losses: [Double]) throws(PlanError) {
            _ = try LossHistory(steps: steps, losses: losses).assessGrowth(parameters: 1e8, tokensPerStep: 1e6, threshold: -0.05)
        }
        let steps = Array(stride(from: 10.0, through: 1000, by: 10))
        let losses = steps.map { 3 + 100 / $0 }
        #expect(throws: PlanError.invalidHistory(reason: "it has no records")) { try assess([], []) }
        #expect(throws: PlanError.self) { try assess(steps, Array(losses.dropLast())) }
        #expect(throws: PlanError.self) { try assess(steps, losses.enumerated().map { $0 == 50 ? .nan : $1 }) }
        #expect(throws: PlanError.self) { try assess(steps, losses.enumerated().map { $0 == 50 ? -1 : $1 }) }
        #expect(throws: PlanError.self) { try assess(steps.reversed(), losses) }
        // Three records cannot fill a window that needs eight.
        #expect(throws: PlanError.historyTooShort(points: 3, needed: 8, windowDecades: 0.2)) {
            try assess([800, 900, 1000], [3.1, 3.0, 2.9])
        }
    }
}
