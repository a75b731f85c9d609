import Foundation

/// Errors of the planner. Every case renders as one sentence (no newline) that
/// names the quantity, says what is wrong and what to do, for the CLI to print
/// as `Error: <sentence>`.
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A quantity that must be a positive finite number is not (`name` says
    /// which, e.g. "target parameter count N").
    case notPositive(name: String, value: Double)
    /// The stacking rule's `163.27 / log10(C)` term needs `log10(C) > 0`.
    case computeTooSmall(flops: Double)
    /// The stacking rule puts growth at or after the end of the budget.
    case growthBeyondTokenBudget(growTokens: Double, budgetTokens: Double)
    /// A slope threshold outside `(-alpha_S, 0)` is never crossed by the scaling law.
    case thresholdOutOfRange(threshold: Double, lower: Double)
    /// The staged-training grow point lies beyond the given token budget.
    case growStepBeyondBudget(growStep: Double, growTokens: Double, budgetTokens: Double)
    /// The scaling-law curve never reached the threshold within the search range.
    case growPointNotFound(threshold: Double, maxSteps: Double)
    /// A loss history is unusable (`reason` is a clause: "it has 3 records").
    case invalidHistory(reason: String)
    /// A history has too few points in the trailing smoothing window.
    case historyTooShort(points: Int, needed: Int, windowDecades: Double)

    public var description: String {
        switch self {
        case .notPositive(let name, let value):
            "the \(name) is \(formatScientific(value)); it must be a positive finite number."
        case .computeTooSmall(let flops):
            "the stacking rule needs log10(C) > 0 for C = 6 N D, but C = \(formatScientific(flops)) FLOPs, where its 163.27 / log10(C) term breaks down; give a realistic --target-params and --tokens."
        case .growthBeyondTokenBudget(let growTokens, let budgetTokens):
            "the stacking rule puts growth after d = \(formatScientific(growTokens)) tokens, not before the end of the budget D = \(formatScientific(budgetTokens)) tokens, so the fit does not apply at this scale; give a larger --tokens budget or train without growth."
        case .thresholdOutOfRange(let threshold, let lower):
            "the slope threshold \(threshold) is never crossed by the scaling law, whose slope d log L / d log C rises from \(lower) to 0; give a --threshold between \(lower) and 0."
        case .growStepBeyondBudget(let growStep, let growTokens, let budgetTokens):
            "the scaling law reaches the growth slope only at step \(formatScientific(growStep)) (\(formatScientific(growTokens)) tokens), beyond the budget of \(formatScientific(budgetTokens)) tokens; train the small model without growth or give a larger --budget-tokens."
        case .growPointNotFound(let threshold, let maxSteps):
            "the scaling-law slope did not reach the threshold \(threshold) within \(formatScientific(maxSteps)) steps; check the scaling-law constants."
        case .invalidHistory(let reason):
            "the loss history is unusable: \(reason)."
        case .historyTooShort(let points, let needed, let windowDecades):
            "the loss history has \(points) usable records in its trailing \(windowDecades)-decade window of compute, fewer than the \(needed) the slope fit needs; train longer before asking whether to grow."
        }
    }
}

/// `1.111e+10` style with four significant digits: exact enough to compare
/// with a paper's table, short enough for one line.
public func formatScientific(_ value: Double, significantDigits: Int = 4) -> String {
    guard value.isFinite else { return "\(value)" }
    guard value != 0 else { return "0" }
    if value == value.rounded(), abs(value) < 1e6 { return String(format: "%.0f", value) }
    let exponent = Int(floor(log10(abs(value))))
    if (-3...5).contains(exponent) {
        let decimals = max(0, significantDigits - 1 - exponent)
        return String(format: "%.\(decimals)f", value)
    }
    return String(format: "%.\(significantDigits - 1)e", value)
}

/// `11.11B`, `6.58B`, `1.75T`: the way papers write parameter and token counts.
public func formatCount(_ value: Double) -> String {
    let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
    for (scale, suffix) in units where abs(value) >= scale {
        var digits = String(format: "%.2f", value / scale)
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.hasSuffix(".") { digits.removeLast() }
        return digits + suffix
    }
    return String(format: "%.0f", value)
}
