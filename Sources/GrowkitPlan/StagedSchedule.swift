import Foundation

/// The growth operators staged training schedules (Shen et al. 2022), each
/// with the slope threshold that marks its growth point and the divisor c of
/// its resume step R = S / c.
public enum StagedGrowth: String, Sendable, Hashable, Codable, CaseIterable {
    case depth, width, both

    /// Grow when the smoothed slope of log L over log C rises above this.
    /// Depth -0.0575 and width -0.0475 are the thresholds of staged training's
    /// `notebooks/remove_oracle.ipynb` (found by search on the Kaplan curves,
    /// then checked on their real GPT-2 curves). Neither the notebook nor the
    /// code we could read gives one for growing both at once; we use the width
    /// threshold, the later of the two, and say so in the output (override
    /// with an explicit threshold).
    public var defaultThreshold: Double {
        switch self {
        case .depth: -0.0575
        case .width, .both: -0.0475
        }
    }

    /// c in R = S / c: the step of the grown model that has the loss the small
    /// model had at step S (1.412 depth, 1.776 width, 2.455 both; DESIGN.md
    /// section 5 and `grow --schedule rewarm`).
    public var defaultResumeDivisor: Double {
        switch self {
        case .depth: 1.412
        case .width: 1.776
        case .both: 2.455
        }
    }
}

/// Where to grow a small model, by staged training's rule on a Kaplan
/// learning curve, and the step to resume the grown model at.
/// Units: parameters; tokens per step; steps; FLOPs; nats per token.
public struct StagedPlan: Sendable, Hashable, Codable {
    public var smallParameters: Double
    public var tokensPerStep: Double
    public var growth: StagedGrowth
    public var batch: BatchAssumption
    public var law: KaplanScalingLaw
    public var threshold: Double
    public var resumeDivisor: Double
    /// S: the step at which the predicted slope d log L / d log C reaches the threshold.
    public var growStep: Double
    /// B S.
    public var growTokens: Double
    /// 6 N B S.
    public var growFlops: Double
    /// L(S).
    public var lossAtGrow: Double
    /// Bcrit(L(S)) in tokens: the batch the critical-batch form assumes at S.
    public var criticalBatchAtGrow: Double
    /// R = S / c, the step to give `grow --schedule rewarm`.
    public var resumeStep: Double
}

/// Finds growth points numerically, by the same smoothed-slope estimator the
/// `--from` check applies to a recorded history, run on the predicted curve.
public struct StagedPlanner: Sendable, Hashable {
    public var law: KaplanScalingLaw
    /// Grid density of the predicted curve (points per decade of steps).
    public var pointsPerDecade: Double
    /// Smoothing of the predicted curve: narrow, as it is noiseless.
    public var smoothing: SlopeSmoothing
    /// Search range in steps.
    public var maxSteps: Double

    public init(law: KaplanScalingLaw = .kaplan2020, pointsPerDecade: Double = 200,
                smoothing: SlopeSmoothing = SlopeSmoothing(windowDecades: 0.02, minimumPoints: 3),
                maxSteps: Double = 1e15) {
        self.law = law
        self.pointsPerDecade = pointsPerDecade
        self.smoothing = smoothing
        self.maxSteps = maxSteps
    }

    /// Plans the growth of a model of `smallParameters` non-embedding
    /// parameters trained at `tokensPerStep` tokens per step.
    ///
    /// The predicted curve is sampled at log-spaced steps from 1 to `maxSteps`,
    /// its slope smoothed as ``SlopeSmoothing`` describes, and the growth point
    /// is the first window centre after the steepest point (staged training's
    /// notebook searches the same way, which skips an early rise) where the
    /// slope exceeds the threshold, interpolated linearly in log C between
    /// neighbouring centres.
    ///
    /// - Parameter budgetTokens: if given, a growth point beyond it is an error.
    public func plan(smallParameters: Double, tokensPerStep: Double, growth: StagedGrowth,
                     batch: BatchAssumption = .critical, threshold: Double? = nil,
                     resumeDivisor: Double? = nil, budgetTokens: Double? = nil) throws(PlanError) -> StagedPlan {
        try law.validate()
        guard smallParameters > 0, smallParameters.isFinite else {
            throw .notPositive(name: "small model's parameter count", value: smallParameters)
        }
        guard tokensPerStep > 0, tokensPerStep.isFinite else {
            throw .notPositive(name: "batch size in tokens per step", value: tokensPerStep)
        }
        let threshold = threshold ?? growth.defaultThreshold
        guard threshold < 0, threshold > -law.stepExponent else {
            throw .thresholdOutOfRange(threshold: threshold, lower: -law.stepExponent)
        }
        let resumeDivisor = resumeDivisor ?? growth.defaultResumeDivisor
        guard resumeDivisor > 0, resumeDivisor.isFinite else {
            throw .notPositive(name: "resume divisor c", value: resumeDivisor)
        }
        if let budgetTokens, !(budgetTokens > 0 && budgetTokens.isFinite) {
            throw .notPositive(name: "token budget", value: budgetTokens)
        }
        let curve = LearningCurve(law: law, parameters: smallParameters, batch: batch)
        let growStep = try findGrowStep(curve: curve, tokensPerStep: tokensPerStep, threshold: threshold)
        let growTokens = growStep * tokensPerStep
        if let budgetTokens, growTokens > budgetTokens {
            throw .growStepBeyondBudget(growStep: growStep, growTokens: growTokens, budgetTokens: budgetTokens)
        }
        let loss = curve.loss(step: growStep)
        return StagedPlan(
            smallParameters: smallParameters, tokensPerStep: tokensPerStep, growth: growth, batch: batch,
            law: law, threshold: threshold, resumeDivisor: resumeDivisor, growStep: growStep,
            growTokens: growTokens, growFlops: 6 * smallParameters * growTokens, lossAtGrow: loss,
            criticalBatchAtGrow: law.criticalBatch(loss: loss), resumeStep: growStep / resumeDivisor)
    }

    func findGrowStep(curve: LearningCurve, tokensPerStep: Double, threshold: Double) throws(PlanError) -> Double {
        let scale = log10(6 * curve.parameters * tokensPerStep)
        let decades = log10(maxSteps)
        let count = Int((decades * pointsPerDecade).rounded()) + 1
        var log10Flops: [Double] = [], log10Loss: [Double] = []
        log10Flops.reserveCapacity(count)
        log10Loss.reserveCapacity(count)
        for i in 0..<count {
            let log10Step = Double(i) / pointsPerDecade
            log10Flops.append(scale + log10Step)
            log10Loss.append(log10(curve.loss(step: pow(10, log10Step))))
        }
        let slopes = trailingWindowSlopes(log10Flops: log10Flops, log10Loss: log10Loss, smoothing: smoothing)
        guard let steepest = slopes.indices.min(by: { slopes[$0].slope < slopes[$1].slope }) else {
            throw .growPointNotFound(threshold: threshold, maxSteps: maxSteps)
        }
        for i in (steepest + 1)..<slopes.count where slopes[i].slope > threshold {
            let before = slopes[i - 1], after = slopes[i]
            let u0 = log10(before.centreFlops), u1 = log10(after.centreFlops)
            let fraction = (threshold - before.slope) / (after.slope - before.slope)
            return pow(10, u0 + fraction * (u1 - u0) - scale)
        }
        throw .growPointNotFound(threshold: threshold, maxSteps: maxSteps)
    }
}
