import Foundation
import GrowkitPlan
import Numerics
import Testing

@Suite struct StackingTimingTests {
    /// The table of Du et al. 2024 (arXiv 2405.15319): d for well-known runs,
    /// N the nominal size. The paper prints d to 4 significant digits; the
    /// issue allows 0.5%, our rule lands within 0.03% of each entry.
    @Test(arguments: [
        (8e9, 15e12, 6.58e9),   // Llama3-8B, 15T tokens
        (7e9, 2e12, 11.11e9),   // Llama2-7B, 2T
        (13e9, 2e12, 15.84e9),  // Llama2-13B, 2T
        (70e9, 2e12, 42.48e9),  // Llama2-70B, 2T
    ])
    func reproducesPublishedTable(targetParameters: Double, tokens: Double, published: Double) throws {
        let plan = try StackingTimingRule.du2024.plan(targetParameters: targetParameters, tokens: tokens)
        #expect(plan.growTokens.isApproximatelyEqual(to: published, relativeTolerance: 0.005),
                "d = \(plan.growTokens), published \(published)")
        #expect(plan.smallParameters == targetParameters / 4)
        #expect(plan.flops == 6 * targetParameters * tokens)
    }

    /// Independent evaluation of the formula, written out again here.
    @Test func matchesFormulaWrittenOut() throws {
        let n = 3e9, d = 300e9
        let expected = pow(10, 0.88 * log10(n) + 163.27 / log10(6 * n * d) - 5.74)
        let plan = try StackingTimingRule.du2024.plan(targetParameters: n, tokens: d)
        #expect(plan.growTokens.isApproximatelyEqual(to: expected, relativeTolerance: 1e-12))
        #expect(plan.growFractionOfBudget.isApproximatelyEqual(to: expected / d, relativeTolerance: 1e-12))
    }

    @Test func reportsThePapersOwnSaving() throws {
        let saving = try StackingTimingRule.du2024.plan(targetParameters: 7e9, tokens: 2e12).reportedSaving
        #expect(saving.baselineTokens == 300e9 && saving.grownTokens == 194e9)
        // The paper's "54.6% speedup" is 300 / 194 - 1 = 0.5464.
        #expect((saving.baselineTokens / saving.grownTokens - 1).isApproximatelyEqual(
            to: saving.reportedSpeedup, absoluteTolerance: 5e-4))
        #expect(saving.tokenSaving.isApproximatelyEqual(to: 106.0 / 300.0, relativeTolerance: 1e-12))
    }

    /// A 100M model on 2B tokens: the rule asks for d = 2.142e10 tokens > D.
    @Test func rejectsGrowthAfterTheBudget() {
        do {
            _ = try StackingTimingRule.du2024.plan(targetParameters: 1e8, tokens: 2e9)
            Issue.record("expected an error")
        } catch {
            guard case .growthBeyondTokenBudget(let d, let budget) = error else {
                Issue.record("wrong error \(error)"); return
            }
            #expect(d > budget)
            #expect(d.isApproximatelyEqual(to: 2.142e10, relativeTolerance: 0.001))
        }
    }

    /// C = 6 N D <= 1 makes log10(C) <= 0.
    @Test func rejectsComputeWhereTheLogTermBreaksDown() {
        #expect(throws: PlanError.computeTooSmall(flops: 6 * 0.1 * 1)) {
            try StackingTimingRule.du2024.plan(targetParameters: 0.1, tokens: 1)
        }
    }

    @Test(arguments: [0.0, -7e9, .nan, .infinity])
    func rejectsNonPositiveSizes(value: Double) {
        #expect(throws: PlanError.self) { try StackingTimingRule.du2024.plan(targetParameters: value, tokens: 2e12) }
        #expect(throws: PlanError.self) { try StackingTimingRule.du2024.plan(targetParameters: 7e9, tokens: value) }
    }

    @Test func errorsAreOneSentence() {
        let errors: [PlanError] = [
            .notPositive(name: "target parameter count N", value: -1), .computeTooSmall(flops: 0.6),
            .growthBeyondTokenBudget(growTokens: 2e10, budgetTokens: 2e9),
            .thresholdOutOfRange(threshold: 0.1, lower: -0.76),
            .growStepBeyondBudget(growStep: 1e5, growTokens: 1e11, budgetTokens: 1e9),
            .growPointNotFound(threshold: -0.05, maxSteps: 1e15), .invalidHistory(reason: "it has no records"),
            .historyTooShort(points: 2, needed: 8, windowDecades: 0.2),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(error.description.hasSuffix("."))
        }
    }
}
