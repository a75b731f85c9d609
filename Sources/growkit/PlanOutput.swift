import Foundation
import GrowkitPlan

/// What `growkit plan` prints: a readable table by default, JSON with `--json`.
enum PlanOutput {
    case stacking(StackingPlan)
    case staged(StagedPlan)
    case assessment(file: String, growth: StagedGrowth, parameters: Double, tokensPerStep: Double,
                    GrowthAssessment, resumeDivisor: Double)

    /// Remarks a reader must see next to the numbers.
    var notes: [String] {
        switch self {
        case .stacking(let plan):
            var notes = ["The rule is the paper's fit on its own runs; at other scales it is an extrapolation."]
            if plan.growthFactor != 4 { notes.append("The rule was fit for g = 4.") }
            return notes
        case .staged(let plan):
            var notes: [String] = []
            if plan.growth == .both {
                notes.append("No published slope threshold for growing depth and width at once: the width threshold is used; override with --threshold.")
            }
            if case .critical = plan.batch {
                let ratio = plan.tokensPerStep / plan.criticalBatchAtGrow
                if ratio > 2 || ratio < 0.5 {
                    notes.append("The critical-batch form assumes training at B = Bcrit, \(formatScientific(plan.criticalBatchAtGrow)) tokens at the grow point, and your batch is \(formatScientific(ratio, significantDigits: 2)) times that, so S counts steps at Bcrit rather than yours; --loss-form given-batch uses your B.")
                }
            }
            return notes
        case .assessment(_, let growth, _, _, let assessment, _):
            var notes = ["The slope is a least-squares fit over the trailing window and describes the curve at the window's centre, about half a window behind the last step."]
            if growth == .both { notes.append("No published threshold for both: the width threshold is used.") }
            if assessment.latest.standardError > abs(assessment.latest.slope - assessment.threshold) {
                notes.append("The slope's standard error exceeds its distance to the threshold: the verdict is not significant yet; widen --window-decades or log more often.")
            }
            return notes
        }
    }

    func table() -> String {
        var rows: [(String, String)] = []
        let title: String
        switch self {
        case .stacking(let plan):
            title = "Stacking timing rule, G_stack (Du et al. 2024, arXiv 2405.15319)"
            let saving = plan.reportedSaving
            rows = [
                ("rule", "log10(d) = 0.88 log10(N) + 163.27 / log10(C) - 5.74, C = 6 N D, g = \(String(format: "%g", plan.growthFactor))"),
                ("target model N", "\(formatScientific(plan.targetParameters)) parameters (\(formatCount(plan.targetParameters)))"),
                ("token budget D", "\(formatScientific(plan.tokens)) tokens (\(formatCount(plan.tokens)))"),
                ("compute C = 6 N D", "\(formatScientific(plan.flops)) FLOPs"),
                ("small model N/g", "\(formatScientific(plan.smallParameters)) parameters (\(formatCount(plan.smallParameters)))"),
                ("grow after d", "\(formatScientific(plan.growTokens)) tokens (\(formatCount(plan.growTokens))), \(percent(plan.growFractionOfBudget)) of D"),
                ("then", "stack the small model g = \(String(format: "%g", plan.growthFactor)) times in depth and train the stacked model"),
                ("reported saving", "\(formatCount(saving.parameters)) model: the loss of a \(formatCount(saving.baselineTokens))-token baseline with \(formatCount(saving.grownTokens)) tokens, a \(percent(saving.reportedSpeedup)) speedup (\(percent(saving.tokenSaving)) fewer tokens) [\(saving.source)]"),
            ]
        case .staged(let plan):
            title = "Staged training schedule (Shen et al. 2022, arXiv 2203.06211) on Kaplan et al. 2020 scaling laws"
            let law = plan.law
            let form: String
            switch plan.batch {
            case .critical: form = "critical batch: L = (Nc/N)^alphaN + (2 Sc / S)^alphaS"
            case .given: form = "given batch: L = (Nc/N)^alphaN + (Sc / Smin)^alphaS, Smin = S / (1 + Bcrit(L) / B)"
            }
            rows = [
                ("small model N", "\(formatScientific(plan.smallParameters)) non-embedding parameters (\(formatCount(plan.smallParameters)))"),
                ("batch B", "\(formatScientific(plan.tokensPerStep)) tokens per step"),
                ("loss form", form),
                ("constants", "Nc = \(formatScientific(law.criticalParameters)), Sc = \(formatScientific(law.criticalSteps)), alphaN = \(law.parameterExponent), alphaS = \(law.stepExponent), B* = \(formatScientific(law.criticalBatchScale)), alphaB = \(law.batchExponent)"),
                ("growth", "\(plan.growth.rawValue): grow when d log L / d log C (C = 6 N B S) rises above \(plan.threshold)"),
                ("grow at step S", "\(steps(plan.growStep)) (\(formatScientific(plan.growTokens)) tokens, \(formatScientific(plan.growFlops)) FLOPs)"),
                ("predicted loss", "\(formatScientific(plan.lossAtGrow)) nats/token; Bcrit there \(formatScientific(plan.criticalBatchAtGrow)) tokens"),
                ("resume step R", "\(steps(plan.resumeStep)) = S / \(plan.resumeDivisor): use with grow --schedule rewarm"),
            ]
        case .assessment(let file, let growth, let parameters, let tokensPerStep, let a, let divisor):
            title = "Growth check of \(file) (staged training's slope rule, Shen et al. 2022)"
            rows = [
                ("model N", "\(formatScientific(parameters)) non-embedding parameters, \(formatScientific(tokensPerStep)) tokens per step"),
                ("last record", "step \(steps(a.lastStep)), loss \(formatScientific(a.lastLoss))"),
                ("smoothed slope", "\(formatScientific(a.latest.slope)) +- \(formatScientific(a.latest.standardError, significantDigits: 2)) (d log L / d log C over \(a.latest.points) records, centred at step \(steps(a.centreStep)))"),
                ("threshold", "\(a.threshold) (\(growth.rawValue))"),
                ("verdict", a.timeToGrow
                    ? "time to grow: the slope has risen above the threshold"
                    : "not yet: the loss is still falling faster than the threshold"),
            ]
            if a.timeToGrow {
                rows.append(("resume step R", "\(steps(a.lastStep / divisor)) = \(steps(a.lastStep)) / \(divisor) if grown now: use with grow --schedule rewarm"))
            }
        }
        let width = rows.map(\.0.count).max() ?? 0
        var text = title + "\n"
        for (key, value) in rows {
            text += "  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value + "\n"
        }
        for note in notes { text += "note: \(note)\n" }
        return text
    }

    /// The `--json` document; throws one sentence naming the first figure that is
    /// not finite (extreme scaling-law overrides can overflow the formulas).
    func json() throws(JSONOutputError) -> String {
        try JSONOutput.string(document, command: "growkit plan") + "\n"
    }

    /// The table, after the same check: every printed figure is finite or the command says why not.
    func checkedTable() throws(JSONOutputError) -> String {
        if let error = JSONOutput.firstNonFinite(document) {
            throw JSONOutputError(command: "growkit plan", field: error.field, value: error.value)
        }
        return table()
    }

    /// Everything the plan reports, as one encodable value (JSON and the finiteness check).
    private var document: any Encodable {
        switch self {
        case .stacking(let plan):
            Envelope(mode: "stacking", plan: plan, notes: notes)
        case .staged(let plan):
            Envelope(mode: "staged", plan: plan, notes: notes)
        case .assessment(let file, let growth, let parameters, let tokensPerStep, let assessment, let divisor):
            Envelope(
                mode: "from",
                plan: AssessmentJSON(checkpoint: file, growth: growth, parameters: parameters, tokensPerStep: tokensPerStep,
                                     assessment: assessment, resumeDivisor: divisor,
                                     resumeStep: assessment.timeToGrow ? assessment.lastStep / divisor : nil),
                notes: notes)
        }
    }
}

private struct Envelope<Plan: Encodable>: Encodable {
    var mode: String
    var plan: Plan
    var notes: [String]
}

private struct AssessmentJSON: Encodable {
    var checkpoint: String
    var growth: StagedGrowth
    var parameters: Double
    var tokensPerStep: Double
    var assessment: GrowthAssessment
    var resumeDivisor: Double
    /// `lastStep / c` when it is time to grow, else absent.
    var resumeStep: Double?
}

private func percent(_ fraction: Double) -> String { String(format: "%.1f%%", 100 * fraction) }

/// Steps are whole numbers to a trainer: rounded, with the exact value when fractional.
private func steps(_ value: Double) -> String {
    value < 1e15 ? String(format: "%.0f", value.rounded()) : formatScientific(value)
}
