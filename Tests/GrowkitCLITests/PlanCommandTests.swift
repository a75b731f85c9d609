import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// Decodes `growkit plan --json` output into a dictionary.
private func jsonObject(_ run: GrowkitRun) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
    return try #require(object as? [String: Any])
}

/// Writes a tiny GPT-2 checkpoint whose /history is the Kaplan-style curve
/// L(S) = 2 + (2100 / S)^0.76 logged every 10 steps up to `lastStep`
/// (`lastStep` 0: an empty history).
private func checkpoint(in folder: URL, lastStep: Int) throws -> String {
    var state = RandomState.state(config: RandomState.tinyConfig(.gpt2), seed: 7)
    var history = TrainingHistory()
    let tokensPerStep = state.trainer.batchSize * state.trainer.seqLen
    for step in stride(from: 10, through: lastStep, by: 10) {
        history.append(step: step, loss: 2 + pow(2100 / Double(step), 0.76), lr: 1e-3, tokens: step * tokensPerStep)
    }
    state.history = history
    let path = folder.appendingPathComponent("run-\(lastStep).h5").path
    try CheckpointWriter.write(state, to: path)
    return path
}

/// The analytic grow point of that curve: (2100/S)^0.76 = A t / (0.76 - t), A = 2.
private func analyticGrowStep(threshold t: Double) -> Double { 2100 / pow(2 * t / (0.76 - t), 1 / 0.76) }

// Serialized: the HDF5 library (Debian's build) is not thread-safe, and three tests write checkpoints.
@Suite(.serialized) struct PlanCommandTests {
    @Test func stackingRuleReproducesLlama2SevenB() throws {
        let run = try runGrowkit(["plan", "--target-params", "7e9", "--tokens", "2e12"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("11.11B"))
        #expect(run.stdout.contains("1.75B"))        // N / g
        #expect(run.stdout.contains("54.6%"))        // the paper's reported speedup, quoted
        #expect(run.stdout.contains("2405.15319"))
    }

    /// JSON parses and carries the numbers of the published table (0.5%).
    @Test func stackingJSONCarriesTheNumbers() throws {
        let run = try runGrowkit(["plan", "--target-params", "8B", "--tokens", "15T", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try jsonObject(run)
        #expect(object["mode"] as? String == "stacking")
        let plan = try #require(object["plan"] as? [String: Any])
        let d = try #require(plan["growTokens"] as? Double)
        #expect(abs(d / 6.58e9 - 1) < 0.005)
        #expect(plan["smallParameters"] as? Double == 2e9)
        let saving = try #require(plan["reportedSaving"] as? [String: Any])
        #expect(saving["grownTokens"] as? Double == 194e9)
    }

    /// Staged schedule: JSON's grow step equals the closed-form root of the
    /// critical-batch slope (0.1%, as in the library test), and R = S / c.
    @Test func stagedJSONCarriesGrowAndResumeSteps() throws {
        let run = try runGrowkit(["plan", "--small-params", "1.2e8", "--batch-tokens", "524288", "--grow", "depth", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let plan = try #require(try jsonObject(run)["plan"] as? [String: Any])
        let s = try #require(plan["growStep"] as? Double)
        let r = try #require(plan["resumeStep"] as? Double)
        let a = pow(8.8e13 / 1.2e8, 0.076), t = 0.0575
        let expected = 2 * 2100 / pow(a * t / (0.76 - t), 1 / 0.76)
        #expect(abs(s / expected - 1) < 1e-3, "grow step \(s), analytic \(expected)")
        #expect(abs(r / (s / 1.412) - 1) < 1e-12)
        #expect(plan["threshold"] as? Double == -0.0575)
    }

    @Test func stagedTableNamesTheStepsAndConstantsOverride() throws {
        let run = try runGrowkit(["plan", "--small-params", "120M", "--batch-tokens", "1e6", "--grow", "width",
                                  "--sc", "4200", "--threshold", "-0.05"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("grow at step S"))
        #expect(run.stdout.contains("resume step R"))
        #expect(run.stdout.contains("Sc = 4200"))
        #expect(run.stdout.contains("-0.05"))
    }

    @Test func fromCheckpointSaysNotYetThenGrow() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = analyticGrowStep(threshold: 0.0575)  // about 2.9e4 steps
        let early = try runGrowkit(["plan", "--from", try checkpoint(in: folder, lastStep: Int(root / 3)), "--grow", "depth", "--json"])
        #expect(early.status == 0, "\(early.stderr)")
        let earlyPlan = try #require(try jsonObject(early)["plan"] as? [String: Any])
        let earlyAssessment = try #require(earlyPlan["assessment"] as? [String: Any])
        #expect(earlyAssessment["timeToGrow"] as? Bool == false)

        let latePath = try checkpoint(in: folder, lastStep: Int(root * 3) / 10 * 10)
        let late = try runGrowkit(["plan", "--from", latePath, "--grow", "depth"])
        #expect(late.status == 0, "\(late.stderr)")
        #expect(late.stdout.contains("time to grow"))
        #expect(late.stdout.contains("resume step R"))

        // JSON: the verdict, and R = last step / c when growing now.
        let lateJSON = try runGrowkit(["plan", "--from", latePath, "--grow", "depth", "--json"])
        let plan = try #require(try jsonObject(lateJSON)["plan"] as? [String: Any])
        let assessment = try #require(plan["assessment"] as? [String: Any])
        #expect(assessment["timeToGrow"] as? Bool == true)
        let lastStep = try #require(assessment["lastStep"] as? Double)
        #expect(lastStep == Double(Int(root * 3) / 10 * 10))
        #expect(plan["resumeStep"] as? Double == lastStep / 1.412)
    }

    // MARK: bad input: one sentence, non-zero exit

    @Test(arguments: [["--target-params", "abc", "--tokens", "2e12"], ["--target-params", "7e9", "--tokens", "lots"],
                      ["--small-params", "1.2e8", "--batch-tokens", "x", "--grow", "depth"]])
    func nonNumericSizesFailCleanly(arguments: [String]) throws {
        expectCleanFailure(try runGrowkit(["plan"] + arguments), mentioning: ["not a number"])
    }

    @Test(arguments: [["--target-params", "0", "--tokens", "2e12"], ["--target-params", "-7e9", "--tokens", "2e12"],
                      ["--small-params", "1.2e8", "--batch-tokens", "-5", "--grow", "depth"]])
    func nonPositiveSizesFailCleanly(arguments: [String]) throws {
        expectCleanFailure(try runGrowkit(["plan"] + arguments), mentioning: ["must be a positive number"])
    }

    /// 100M parameters on 2B tokens: the rule puts growth after 21B tokens.
    @Test func stackingBudgetTooSmallFailsCleanly() throws {
        expectCleanFailure(try runGrowkit(["plan", "--target-params", "1e8", "--tokens", "2e9"]),
                           mentioning: ["2.142e+10", "--tokens"])
    }

    /// C = 6 N D <= 1: log10(C) <= 0, the rule's 1 / log10(C) term breaks down.
    @Test func stackingComputeBelowOneFlopFailsCleanly() throws {
        expectCleanFailure(try runGrowkit(["plan", "--target-params", "0.1", "--tokens", "1"]), mentioning: ["log10(C)"])
    }

    @Test func stagedGrowPointBeyondBudgetFailsCleanly() throws {
        expectCleanFailure(try runGrowkit(["plan", "--small-params", "1.2e8", "--batch-tokens", "524288", "--grow", "depth",
                                           "--budget-tokens", "1e9"]),
                           mentioning: ["beyond the budget"])
    }

    @Test func badChoicesAndMissingOptionsFailCleanly() throws {
        expectCleanFailure(try runGrowkit(["plan", "--small-params", "1e8", "--batch-tokens", "1e6", "--grow", "sideways"]),
                           mentioning: ["--grow", "depth, width or both"])
        expectCleanFailure(try runGrowkit(["plan", "--small-params", "1e8", "--batch-tokens", "1e6"]), mentioning: ["--grow is missing"])
        expectCleanFailure(try runGrowkit(["plan", "--target-params", "7e9"]), mentioning: ["--tokens is missing"])
        expectCleanFailure(try runGrowkit(["plan"]), mentioning: ["--target-params"])
        expectCleanFailure(try runGrowkit(["plan", "--target-params", "7e9", "--tokens", "2e12", "--small-params", "1e8"]),
                           mentioning: ["only one"])
        expectCleanFailure(try runGrowkit(["plan", "--small-params", "1e8", "--batch-tokens", "1e6", "--grow", "depth",
                                           "--threshold", "0.1"]),
                           mentioning: ["threshold"])
    }

    @Test func checkpointWithoutHistoryFailsCleanly() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try checkpoint(in: folder, lastStep: 0)
        expectCleanFailure(try runGrowkit(["plan", "--from", path, "--grow", "depth"]), mentioning: [path, "/history has no records"])
    }

    @Test func checkpointWithTooShortHistoryFailsCleanly() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try checkpoint(in: folder, lastStep: 30)
        expectCleanFailure(try runGrowkit(["plan", "--from", path, "--grow", "width"]), mentioning: [path, "train longer"])
    }

    @Test func missingCheckpointFailsCleanly() throws {
        expectCleanFailure(try runGrowkit(["plan", "--from", "/nonexistent/run.h5", "--grow", "depth"]),
                           mentioning: ["/nonexistent/run.h5"])
    }
}
