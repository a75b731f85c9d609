import Foundation

/// The growth-timing rule of "Stacking Your Transformers" (Du et al. 2024,
/// arXiv 2405.15319, section on growth timing) for the depthwise stacking
/// operator G_stack with growth factor g = 4:
///
///     log10(d) = a log10(N) + b / log10(C) + c,   C = 6 N D
///
/// with a = 0.88, b = 163.27, c = -5.74, where N is the target (grown) model's
/// parameter count, D the total token budget of the target run, C its training
/// FLOPs (the usual 6 N D estimate) and d the number of tokens the small model
/// (N / g parameters) is trained on before it is stacked.
///
/// The constants are the paper's fit over its own runs; outside them the rule
/// is an extrapolation (the paper's own table applies it to Llama-2 70B and
/// Llama-3 8B). It is rejected where it stops making sense: `log10(C) <= 0`
/// (the `b / log10(C)` term changes sign or divides by zero) and `d >= D`
/// (growth would come after the whole budget is spent).
public struct StackingTimingRule: Sendable, Hashable, Codable {
    /// Coefficient of `log10(N)`.
    public var sizeCoefficient: Double
    /// Numerator of the `b / log10(C)` term.
    public var computeCoefficient: Double
    /// Intercept `c`.
    public var intercept: Double
    /// Depth growth factor g: the small model has `N / g` parameters (the rule is fit for g = 4).
    public var growthFactor: Double

    public init(sizeCoefficient: Double = 0.88, computeCoefficient: Double = 163.27,
                intercept: Double = -5.74, growthFactor: Double = 4) {
        self.sizeCoefficient = sizeCoefficient
        self.computeCoefficient = computeCoefficient
        self.intercept = intercept
        self.growthFactor = growthFactor
    }

    /// The published constants (Du et al. 2024).
    public static let du2024 = StackingTimingRule()

    /// Tokens to train the small model before stacking, for a target of
    /// `targetParameters` parameters trained on `tokens` tokens in total.
    public func plan(targetParameters: Double, tokens: Double) throws(PlanError) -> StackingPlan {
        guard targetParameters > 0, targetParameters.isFinite else {
            throw .notPositive(name: "target parameter count N", value: targetParameters)
        }
        guard tokens > 0, tokens.isFinite else {
            throw .notPositive(name: "token budget D", value: tokens)
        }
        let flops = 6 * targetParameters * tokens
        let log10C = log10(flops)
        guard log10C > 0, flops.isFinite else { throw .computeTooSmall(flops: flops) }
        let log10d = sizeCoefficient * log10(targetParameters) + computeCoefficient / log10C + intercept
        let growTokens = pow(10, log10d)
        guard growTokens < tokens else {
            throw .growthBeyondTokenBudget(growTokens: growTokens, budgetTokens: tokens)
        }
        return StackingPlan(
            targetParameters: targetParameters, tokens: tokens, flops: flops,
            growthFactor: growthFactor, smallParameters: targetParameters / growthFactor,
            growTokens: growTokens, growFractionOfBudget: growTokens / tokens,
            reportedSaving: .du2024SevenB)
    }
}

/// What the stacking rule says for one target run. Units: parameters, tokens, FLOPs.
public struct StackingPlan: Sendable, Hashable, Codable {
    /// N, the grown model's parameter count.
    public var targetParameters: Double
    /// D, the target run's total token budget.
    public var tokens: Double
    /// C = 6 N D.
    public var flops: Double
    /// g.
    public var growthFactor: Double
    /// N / g: the model trained before stacking.
    public var smallParameters: Double
    /// d: tokens the small model is trained on before it is stacked g times.
    public var growTokens: Double
    /// d / D.
    public var growFractionOfBudget: Double
    /// The saving the paper itself reports (not a prediction for this run).
    public var reportedSaving: ReportedSaving
}

/// A saving as reported by a paper, quoted with its source, never extrapolated.
public struct ReportedSaving: Sendable, Hashable, Codable {
    /// Model size of the reported experiment (parameters).
    public var parameters: Double
    /// Tokens the conventionally trained baseline used.
    public var baselineTokens: Double
    /// Tokens the grown model needed to reach the baseline's loss.
    public var grownTokens: Double
    /// The speedup as the paper states it, `baselineTokens / grownTokens - 1`.
    public var reportedSpeedup: Double
    /// Where it is stated.
    public var source: String

    /// Du et al. 2024, abstract: a 7B G_stack model reaches the loss of a 7B
    /// model trained conventionally on 300B tokens with 194B tokens, "a 54.6%
    /// speedup" (300 / 194 = 1.546).
    public static let du2024SevenB = ReportedSaving(
        parameters: 7e9, baselineTokens: 300e9, grownTokens: 194e9, reportedSpeedup: 0.546,
        source: "Du et al. 2024, arXiv 2405.15319, abstract")

    /// Fraction of the baseline's tokens saved, `1 - grownTokens / baselineTokens`
    /// (arithmetic on the reported figures: 0.353 for the 7B run).
    public var tokenSaving: Double { 1 - grownTokens / baselineTokens }
}
