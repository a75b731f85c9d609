import Foundation
import GrowkitPlan
import Numerics
import Testing

/// Kaplan Table 5 constants, written out independently of the module.
private let nc = 8.8e13, sc = 2.1e3, alphaN = 0.076, alphaS = 0.76, bStar = 2.1e8, alphaB = 0.21

/// The critical-batch curve of staged training's notebook and its exact slope
/// `d ln L / d ln S = -alphaS (2 Sc / S)^alphaS / L`.
private func criticalLoss(_ n: Double, _ s: Double) -> Double { pow(nc / n, alphaN) + pow(2 * sc / s, alphaS) }
private func criticalSlope(_ n: Double, _ s: Double) -> Double { -alphaS * pow(2 * sc / s, alphaS) / criticalLoss(n, s) }

/// Bisection in log S for `slope(S) = threshold`; the slope rises monotonically
/// from -alphaS to 0 on both curves used here.
private func bisectGrowStep(threshold: Double, slope: (Double) -> Double) -> Double {
    var lower = 0.0, upper = 15.0
    for _ in 0..<200 {
        let middle = 0.5 * (lower + upper)
        if slope(pow(10, middle)) > threshold { upper = middle } else { lower = middle }
    }
    return pow(10, 0.5 * (lower + upper))
}

@Suite struct LearningCurveTests {
    /// The module's closed-form slope against a central finite difference of
    /// its loss in ln S (step 1e-4: truncation error ~1e-9, far below 1e-6).
    @Test(arguments: [BatchAssumption.critical, .given(tokensPerStep: 5e5), .given(tokensPerStep: 4e6)])
    func slopeMatchesFiniteDifference(batch: BatchAssumption) {
        let curve = LearningCurve(law: .kaplan2020, parameters: 1.2e8, batch: batch)
        for s in [3e2, 5e3, 4e4, 1e6] {
            let h = 1e-4
            let fd = (log(curve.loss(step: s * exp(h))) - log(curve.loss(step: s * exp(-h)))) / (2 * h)
            #expect(curve.slope(step: s).isApproximatelyEqual(to: fd, relativeTolerance: 1e-6), "S = \(s)")
        }
    }

    /// At B = Bcrit(L) the general form Smin = S / (1 + Bcrit/B) is S / 2, so
    /// the implicit solution must equal the notebook's closed form.
    @Test func givenBatchAtCriticalBatchEqualsClosedForm() {
        let n = 3e8
        for s in [1e3, 2e4, 3e5] {
            let l = criticalLoss(n, s)
            let b = bStar / pow(l, 1 / alphaB)
            let given = LearningCurve(law: .kaplan2020, parameters: n, batch: .given(tokensPerStep: b))
            #expect(given.loss(step: s).isApproximatelyEqual(to: l, relativeTolerance: 1e-12))
        }
    }

    @Test func closedFormLossMatchesKaplan() {
        let curve = LearningCurve(law: .kaplan2020, parameters: 1e9, batch: .critical)
        #expect(curve.loss(step: 5e4).isApproximatelyEqual(to: criticalLoss(1e9, 5e4), relativeTolerance: 1e-14))
    }
}

@Suite struct StagedPlannerTests {
    /// The numerically found grow step (smoothed slope of the sampled curve)
    /// equals the root of the exact slope found by bisection here, and the
    /// closed-form inverse `S = 2 Sc / (A t / (alphaS - t))^(1/alphaS)` with
    /// A = (Nc/N)^alphaN, t = -threshold. Tolerance 1e-3: the planner's grid
    /// has 200 points per decade and interpolates linearly between window
    /// centres 0.005 decades apart; the observed error is ~1e-5.
    @Test(arguments: [(1.2e8, StagedGrowth.depth), (1.2e8, .width), (1.5e9, .depth), (2e7, .both)])
    func growStepMatchesAnalyticRoot(parameters: Double, growth: StagedGrowth) throws {
        let plan = try StagedPlanner().plan(smallParameters: parameters, tokensPerStep: 524_288, growth: growth)
        let t = -growth.defaultThreshold
        let bisected = bisectGrowStep(threshold: -t) { criticalSlope(parameters, $0) }
        let a = pow(nc / parameters, alphaN)
        let closedForm = 2 * sc / pow(a * t / (alphaS - t), 1 / alphaS)
        #expect(bisected.isApproximatelyEqual(to: closedForm, relativeTolerance: 1e-9))
        #expect(plan.growStep.isApproximatelyEqual(to: bisected, relativeTolerance: 1e-3),
                "planner \(plan.growStep), analytic \(bisected)")
        #expect(plan.threshold == -t)
    }

    /// R = S / c with the published divisors.
    @Test(arguments: [(StagedGrowth.depth, 1.412), (.width, 1.776), (.both, 2.455)])
    func resumeStepIsGrowStepOverC(growth: StagedGrowth, c: Double) throws {
        let plan = try StagedPlanner().plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: growth)
        #expect(plan.resumeDivisor == c)
        #expect(plan.resumeStep.isApproximatelyEqual(to: plan.growStep / c, relativeTolerance: 1e-15))
        #expect(plan.growTokens.isApproximatelyEqual(to: plan.growStep * 524_288, relativeTolerance: 1e-15))
        #expect(plan.growFlops.isApproximatelyEqual(to: 6 * 1.2e8 * plan.growTokens, relativeTolerance: 1e-15))
    }

    @Test func depthGrowsBeforeWidth() throws {
        let planner = StagedPlanner()
        let depth = try planner.plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: .depth)
        let width = try planner.plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: .width)
        #expect(depth.growStep < width.growStep)
    }

    /// Overridden constants reach the curve: the closed-form root moves with Sc and Nc.
    @Test func overriddenConstantsAreUsed() throws {
        let law = KaplanScalingLaw(criticalParameters: 5e13, criticalSteps: 4e3)
        let plan = try StagedPlanner(law: law).plan(smallParameters: 1e8, tokensPerStep: 1e6, growth: .depth, threshold: -0.06)
        let a = pow(5e13 / 1e8, alphaN)
        let expected = 2 * 4e3 / pow(a * 0.06 / (alphaS - 0.06), 1 / alphaS)
        #expect(plan.growStep.isApproximatelyEqual(to: expected, relativeTolerance: 1e-3))
    }

    /// Given-batch form: the planner's root equals a bisection on a finite
    /// difference of the implicit loss, solved here independently by damped
    /// fixed-point iteration (tolerance 1e-3, as above; finite-difference
    /// error ~1e-8).
    @Test func givenBatchGrowStepMatchesIndependentSolution() throws {
        let n = 1.2e8, b = 2e5
        func loss(_ s: Double) -> Double {
            var l = pow(nc / n, alphaN) + pow(sc / s, alphaS)
            for _ in 0..<2000 {
                let smin = s / (1 + bStar / pow(l, 1 / alphaB) / b)
                l = 0.5 * l + 0.5 * (pow(nc / n, alphaN) + pow(sc / smin, alphaS))
            }
            return l
        }
        func slope(_ s: Double) -> Double {
            let h = 1e-4
            return (log(loss(s * exp(h))) - log(loss(s * exp(-h)))) / (2 * h)
        }
        let expected = bisectGrowStep(threshold: -0.0575, slope: slope)
        let plan = try StagedPlanner().plan(smallParameters: n, tokensPerStep: b, growth: .depth,
                                            batch: .given(tokensPerStep: b))
        #expect(plan.growStep.isApproximatelyEqual(to: expected, relativeTolerance: 1e-3),
                "planner \(plan.growStep), independent \(expected)")
    }

    @Test func growPointBeyondBudgetIsAnError() throws {
        let plan = try StagedPlanner().plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: .depth)
        #expect(throws: PlanError.self) {
            try StagedPlanner().plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: .depth,
                                     budgetTokens: plan.growTokens * 0.9)
        }
        let fits = try StagedPlanner().plan(smallParameters: 1.2e8, tokensPerStep: 524_288, growth: .depth,
                                            budgetTokens: plan.growTokens * 1.1)
        #expect(fits.growStep == plan.growStep)
    }

    @Test(arguments: [0.0, 0.01, -0.76, -1.0])
    func thresholdOutsideTheSlopeRangeIsAnError(threshold: Double) {
        #expect(throws: PlanError.self) {
            try StagedPlanner().plan(smallParameters: 1e8, tokensPerStep: 1e6, growth: .depth, threshold: threshold)
        }
    }

    @Test func nonPositiveInputsAreErrors() {
        let planner = StagedPlanner()
        #expect(throws: PlanError.self) { try planner.plan(smallParameters: 0, tokensPerStep: 1e6, growth: .depth) }
        #expect(throws: PlanError.self) { try planner.plan(smallParameters: 1e8, tokensPerStep: -1, growth: .depth) }
        #expect(throws: PlanError.self) {
            try StagedPlanner(law: KaplanScalingLaw(stepExponent: 0)).plan(smallParameters: 1e8, tokensPerStep: 1e6, growth: .depth)
        }
    }
}
