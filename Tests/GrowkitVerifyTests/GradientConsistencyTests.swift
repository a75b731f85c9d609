import Foundation
import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitState
import Testing
@testable import GrowkitVerify

/// The repository's fixtures folder.
let fixturesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures").path

func fixtureState(_ name: String) throws -> TrainingState { try CheckpointReader(path: fixturesPath + "/" + name).readAll() }

/// Grows `state` in memory as `growkit grow` would, with a record that replays (operators, seed, optimizer).
func grown(_ state: TrainingState, depth: String? = nil, width: String? = nil, seed: UInt64 = 1,
           optimizer: OptimizerTransfer? = nil) throws -> TrainingState {
    let plan = try GrowthPlan(source: state.config, depth: depth.map(OperatorSyntax.depth),
                              width: width.map(OperatorSyntax.width), seed: seed)
    let transfer = optimizer ?? plan.defaultOptimizer
    let operators = [depth.map { "depth=\($0)" }, width.map { "width=\($0)" }].compactMap { $0 }
    let record = ProvenanceRecord(operatorName: "grow",
                                  arguments: ["seed": .number(Double(seed)), "optimizer": .string(transfer.rawValue)],
                                  toolVersion: "test", growth: plan.record(operators: operators), time: "2026-01-01T00:00:00Z")
    return plan.apply(to: state, optimizer: transfer, schedule: .continue, record: record)
}

/// ``GradientConsistency`` on growths made by GrowkitGrowth's operators. The reference is
/// independent of the operators' code: the grown model's gradient comes from the bundled
/// backward pass of the grown model (itself checked against transformers in GrowkitModelTests),
/// and the source gradient from the source model's; only the map `e -> (src(e), s_e)` comes from the plan.
@Suite struct GradientConsistencyTests {
    struct Case: Sendable, CustomStringConvertible {
        var fixture: String
        var depth: String?
        var width: String?
        var description: String { "\(fixture) \(depth ?? "") \(width ?? "")" }
    }

    /// Every operator that carries moments, alone and combined, on both families: the Hugging Face
    /// fixtures (far-from-uniform weights; zero moments, so the moment check sees zeros) and the
    /// tiny fixtures (random nonzero moments, step 40).
    static let exactCases: [Case] = ["hf/gpt2_tied.h5", "hf/llama_gqa.h5", "tiny-gpt2.h5", "tiny-llama.h5"].flatMap { f in
        let split = f.contains("gpt2") ? "split:intermediate=320" : "split:intermediate=160,heads=8"
        return [Case(fixture: f, depth: "identity:layers=3"), Case(fixture: f, width: "duplicate:2"),
                Case(fixture: f, width: "staged"), Case(fixture: f, width: split),
                Case(fixture: f, depth: "identity:layers=4", width: "duplicate:2")]
            // zero is exact for RMSNorm at any size; with LayerNorm only when the hidden size stays.
            + [Case(fixture: f, width: f.contains("llama") ? "zero:2" : "zero:intermediate=320")]
    }

    @Test(arguments: exactCases) func exactGrowthsFollowTheRule(c: Case) throws {
        let small = try fixtureState(c.fixture)
        let big = try grown(small, depth: c.depth, width: c.width)
        let batches = try FunctionPreservation.randomBatches(for: small.config, seed: 3)
        let result = try GradientConsistency.check(source: small, grown: big, batches: batches)
        #expect(result.claimedExact)
        #expect(result.verdict == .consistent, "\(result.mismatches.prefix(3))")
        #expect(result.total.gradientEntries > 0 && result.total.tensors == big.config.parameters().count)
        // 1e-3 of the RMS is the documented tolerance; exact growths measure far below it.
        #expect(result.total.worstGradientError < 1e-3)
        #expect(abs(result.grownLoss - result.sourceLoss) < 1e-4)
        if c.fixture.hasPrefix("tiny") {
            // Nonzero moments, carried by s exactly up to float32 rounding.
            #expect(small.optimizerState.values.contains { $0.expAvg.data.contains { $0 != 0 } })
            #expect(result.total.worstExpAvgError < 1e-6 && result.total.worstExpAvgSqError < 1e-6)
        }
        if c.depth != nil { #expect(result.total.freshEntries > 0) }  // the new identity blocks
        #expect(result.rows.map(\.group).allSatisfy { GradientConsistency.groupOrder.contains($0) })
    }

    /// With `--optimizer reset` every moment must be 0 and every step 0; the gradients still follow `s`.
    @Test func resetMomentsAreZero() throws {
        let small = try fixtureState("tiny-llama.h5")
        let big = try grown(small, width: "duplicate:2", optimizer: .reset)
        let result = try GradientConsistency.check(source: small, grown: big,
                                                   batches: try FunctionPreservation.randomBatches(for: small.config))
        #expect(result.optimizer == "reset" && result.verdict == .consistent)
        // The carried state presented as a reset fails on moments and steps.
        var lying = try grown(small, width: "duplicate:2", optimizer: .carry)
        lying.provenance[lying.provenance.count - 1].arguments["optimizer"] = .string("reset")
        let bad = try GradientConsistency.check(source: small, grown: lying,
                                                batches: try FunctionPreservation.randomBatches(for: small.config))
        #expect(bad.verdict == .inconsistent && bad.total.stepMismatches == lying.config.parameters().count)
    }

    /// Deliberately wrong moment rules on one tensor of a correct growth must fail, naming it.
    @Test(arguments: ["tiny-gpt2.h5", "tiny-llama.h5"]) func wrongMomentRuleFailsNamingTheTensor(fixture: String) throws {
        let small = try fixtureState(fixture)
        let good = try grown(small, width: "duplicate:2")
        let batches = try FunctionPreservation.randomBatches(for: small.config)
        let name = "model.layers.1.mlp.up_proj.weight"
        // s = 1/2 for up_proj (its output is duplicated): `exp_avg' = exp_avg` (no s) is 2x the rule.
        var noScale = good
        noScale.optimizerState[name]!.expAvg.data = good.optimizerState[name]!.expAvg.data.map { $0 * 2 }
        let r1 = try GradientConsistency.check(source: small, grown: noScale, batches: batches)
        #expect(r1.verdict == .inconsistent && !r1.passed)
        #expect(r1.mismatches.first?.tensor == name && r1.mismatches.first?.quantity == .expAvg)
        #expect(r1.rows.first { $0.group == "mlp" }!.momentMismatches == good.optimizerState[name]!.expAvg.data.filter { $0 != 0 }.count)
        #expect(r1.failureSummary?.contains(name) == true)
        // `exp_avg_sq' = s exp_avg_sq` (s instead of s^2).
        var linear = good
        linear.optimizerState[name]!.expAvgSq.data = good.optimizerState[name]!.expAvgSq.data.map { $0 * 2 }
        let r2 = try GradientConsistency.check(source: small, grown: linear, batches: batches, perTensor: true)
        #expect(r2.verdict == .inconsistent && r2.mismatches.first?.tensor == name && r2.mismatches.first?.quantity == .expAvgSq)
        #expect(r2.rows.filter { $0.momentMismatches > 0 }.map(\.group) == [name])
        // A step that was not kept.
        var step = good
        step.optimizerState[name]!.step = 0
        let r3 = try GradientConsistency.check(source: small, grown: step, batches: batches)
        #expect(r3.verdict == .inconsistent && r3.total.stepMismatches == 1 && r3.mismatches.first?.tensor == name)
    }

    /// A grown weight changed after growth breaks `g' = s g` (and the function): named, and a failure
    /// for an exact claim.
    @Test func perturbedWeightBreaksTheGradientRule() throws {
        let small = try fixtureState("tiny-llama.h5")
        var big = try grown(small, width: "duplicate:2")
        let name = "model.layers.0.self_attn.q_proj.weight"
        big.parameters[name]!.data = big.parameters[name]!.data.map { $0 * 1.5 }
        let result = try GradientConsistency.check(source: small, grown: big,
                                                   batches: try FunctionPreservation.randomBatches(for: small.config))
        #expect(result.verdict == .inconsistent && result.total.gradientMismatches > 0)
        #expect(result.total.worstGradientError > 1e-2)
    }

    /// Symmetry-breaking noise keeps the function but not the gradients; stack changes both.
    /// Neither fails: both are approximate by design, with the figures.
    @Test func noiseAndStackAreApproximateByDesign() throws {
        let small = try fixtureState("tiny-llama.h5")
        let batches = try FunctionPreservation.randomBatches(for: small.config)
        let noisy = try GradientConsistency.check(source: small, grown: try grown(small, width: "duplicate:2,snr=20"),
                                                  batches: batches)
        #expect(noisy.claimedExact && noisy.symmetryBreakingNoise)
        #expect(noisy.verdict == .approximateByDesign && noisy.passed)
        #expect(noisy.total.worstGradientError > 1e-3 && noisy.momentsWithinTolerance)
        // zero with a wider hidden under LayerNorm: the mean changes, so not exact (the record says so).
        let gpt2 = try fixtureState("tiny-gpt2.h5")
        let layerNorm = try GradientConsistency.check(source: gpt2, grown: try grown(gpt2, width: "zero:2"),
                                                      batches: try FunctionPreservation.randomBatches(for: gpt2.config))
        #expect(!layerNorm.claimedExact && layerNorm.verdict == .approximateByDesign && layerNorm.passed)
        let stacked = try GradientConsistency.check(
            source: small, grown: try grown(small, depth: "stack:2", optimizer: .carry), batches: batches)
        #expect(!stacked.claimedExact && stacked.verdict == .approximateByDesign && stacked.passed)
        #expect(stacked.total.gradientMismatches > 0 && stacked.momentsWithinTolerance)
    }

    @Test func notDerivedIsRefused() throws {
        let small = try fixtureState("tiny-llama.h5")
        let batches = try FunctionPreservation.randomBatches(for: small.config)
        // The fixture's own last record is make-fixture, not a growth.
        #expect(throws: VerifyError.self) { try GradientConsistency.check(source: small, grown: small, batches: batches) }
        do {
            _ = try GradientConsistency.check(source: small, grown: small, batches: batches)
        } catch {
            #expect(error.description.contains("not derived") && error.description.contains("not a growth"))
        }
        // Grown from a state of another width: the replayed plan's config is not GROWN's.
        let other = try fixtureState("hf/llama_gqa.h5")
        let big = try grown(other, width: "duplicate:2")
        do {
            _ = try GradientConsistency.check(source: small, grown: big, batches: batches)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("hidden_size"))
        }
        // Different families.
        let gpt2 = try fixtureState("tiny-gpt2.h5")
        #expect(throws: VerifyError.self) {
            try GradientConsistency.check(source: gpt2, grown: try grown(small, width: "duplicate:2"), batches: batches)
        }
    }

    @Test func resultEncodesItsVerdict() throws {
        let small = try fixtureState("tiny-gpt2.h5")
        let result = try GradientConsistency.check(source: small, grown: try grown(small, width: "duplicate:2"),
                                                   batches: try FunctionPreservation.randomBatches(for: small.config))
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(result)) as! [String: Any]
        #expect(json["verdict"] as? String == "consistent" && json["passed"] as? Bool == true)
        // Every group but the head: GPT-2's head is the tied embedding.
        #expect((json["rows"] as? [[String: Any]])?.count == GradientConsistency.groupOrder.count - 1)
        let decoded = try JSONDecoder().decode(GradientConsistencyResult.self, from: try JSONEncoder().encode(result))
        #expect(decoded == result)
    }
}
