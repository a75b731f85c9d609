import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit demo --quick`: the whole demo on a tiny model for a few tens of steps,
/// checked through its `--json` document and the files it wrote.
@Suite struct DemoCommandTests {
    /// The parts of `demo --json` the tests read.
    struct Result: Decodable {
        struct Reference: Decodable { var name: String; var passed: Bool }
        struct Preservation: Decodable {
            var sourceLoss: Double, grownLoss: Double, absLossDiff: Double, lossBound: Double, maxAbsLogitDiff: Double
            var verdict: String, passed: Bool
        }
        struct Figure: Decodable { var label: String; var value: Double }
        struct Check: Decodable { var name: String; var passed: Bool; var verdict: String; var figures: [Figure] }
        struct Planner: Decodable { var threshold: Double; var slope: Double; var timeToGrow: Bool; var grewAtStep: Int; var decision: String }
        struct Curve: Decodable { var steps: [Int]; var tokens: [Int]; var flops: [Double]; var losses: [Double] }
        struct Run: Decodable {
            var name: String, checkpoint: String, parameters: Int, firstStep: Int, lastStep: Int
            var tokensTrained: Int, tokensSeen: Int, flops: Double, cumulativeFlops: Double, seconds: Double
            var finalLoss: Double, heldOutLoss: Double, curve: Curve, heldOutCurve: Curve
        }
        struct Setup: Decodable { var growStep: Int; var grownSteps: Int; var tokensPerStep: Int; var evalEvery: Int }
        struct Outputs: Decodable { var checkpoints: [String]; var plots: [String] }
        struct Comparison: Decodable { var heldOutAtGrowth: Double; var grownHeldOutLoss: Double; var scratchHeldOutLoss: Double; var grownAheadAtEqualTokens: Bool; var flopsRatio: Double }
        var settings: Setup
        var references: [Reference]
        var planner: Planner
        var functionPreservation: Preservation
        var checks: [Check]
        var runs: [Run]
        var comparison: Comparison
        var outputs: Outputs
        var passed: Bool
    }

    static func runQuickDemo(in folder: URL) throws -> (GrowkitRun, Result?) {
        let run = try runGrowkit(["demo", "--quick", "--json", "--fixtures", fixturesFolder.path,
                                  "--out", folder.appendingPathComponent("out").path], currentDirectory: folder)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (run, try? decoder.decode(Result.self, from: Data(run.stdout.utf8)))
    }

    /// The growth is exact, so the held-out loss before and after it agree to float32
    /// tolerance, and the loss before growth is the small run's own end-of-run
    /// held-out loss (the trainer's evaluator on the same batches: two code paths).
    /// The curves are the runs' histories, the grown one continuing the small one;
    /// grown and scratch end at the same tokens; the FLOPs charge the small phase at
    /// the small size.
    @Test func quickDemoFigures() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (run, decoded) = try Self.runQuickDemo(in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty, "--json on a pipe prints no progress: \(run.stderr)")
        let result = try #require(decoded, "demo --json did not decode:\n\(run.stdout)")
        #expect(result.passed)
        #expect(result.references.map(\.name) == ["gpt2_tied", "llama_gqa", "llama_mqa", "llama_head_dim"])
        #expect(result.references.allSatisfy { $0.passed })

        let p = result.functionPreservation
        #expect(p.verdict == "preserved" && p.passed)
        #expect(abs(p.sourceLoss - p.grownLoss) <= 1e-5 * max(1, p.sourceLoss))
        #expect(p.maxAbsLogitDiff <= 1e-4)
        #expect(p.sourceLoss > 1 && p.sourceLoss < log(256.0), "a trained small model beats uniform: \(p.sourceLoss)")
        #expect(result.checks.map(\.name) == ["function preservation (growkit verify)",
                                               "gradients and moments (growkit verify --gradients)"])
        #expect(result.checks.allSatisfy { $0.passed })
        // The demo's duplicate adds symmetry-breaking noise: gradients approximate by design, moments exact.
        let gradients = result.checks[1]
        #expect(gradients.verdict == "approximate_by_design")
        let figures = Dictionary(gradients.figures.map { ($0.label, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(figures["worst exp_avg error"] == 0 && figures["worst exp_avg_sq error"] == 0)
        #expect((figures["entries"] ?? 0) > 1000)

        let s = result.settings
        #expect(result.runs.map(\.name) == ["small", "grown", "scratch"])
        let small = result.runs[0], grown = result.runs[1], scratch = result.runs[2]
        #expect(abs(small.heldOutLoss - p.sourceLoss) <= 1e-5 * p.sourceLoss, "\(small.heldOutLoss) vs \(p.sourceLoss)")
        #expect(small.curve.steps == Array(1...s.growStep))
        #expect(grown.curve.steps == Array(1...(s.growStep + s.grownSteps)) && scratch.curve.steps == Array(1...s.grownSteps))
        #expect(Array(grown.curve.losses.prefix(s.growStep)) == small.curve.losses, "grow keeps the history")
        // The same tokens at the grown size: grown after growth, scratch from its start.
        #expect(scratch.tokensSeen == s.grownSteps * s.tokensPerStep && grown.tokensTrained == scratch.tokensTrained)
        #expect(grown.tokensSeen == (s.growStep + s.grownSteps) * s.tokensPerStep)
        for r in result.runs {
            #expect(r.curve.losses.count == r.curve.flops.count && r.curve.losses.allSatisfy { $0.isFinite && $0 > 0 })
            #expect(r.finalLoss == r.curve.losses.last && r.heldOutLoss.isFinite)
            #expect(zip(r.curve.flops, r.curve.flops.dropFirst()).allSatisfy { $0 < $1 })
        }
        let smallFlops = 6 * Double(small.parameters * s.growStep * s.tokensPerStep)
        #expect(abs(small.cumulativeFlops - smallFlops) <= 1e-9 * smallFlops)
        let grownFlops = smallFlops + 6 * Double(grown.parameters * s.grownSteps * s.tokensPerStep)
        #expect(abs(grown.cumulativeFlops - grownFlops) <= 1e-9 * grownFlops)
        #expect(abs(scratch.cumulativeFlops - 6 * Double(scratch.parameters * s.grownSteps * s.tokensPerStep)) <= 1e-9 * scratch.cumulativeFlops)
        #expect(result.comparison.grownAheadAtEqualTokens == (grown.heldOutLoss < scratch.heldOutLoss))
        // Held-out curves: every eval_every steps and at the end, the last one the run's held-out loss.
        for r in result.runs {
            #expect(r.heldOutCurve.losses.last == r.heldOutLoss && r.heldOutCurve.steps.last == r.lastStep)
            #expect(r.heldOutCurve.steps.allSatisfy { $0 > r.firstStep && ($0 % s.evalEvery == 0 || $0 == r.lastStep) })
        }
        #expect(result.comparison.heldOutAtGrowth == p.grownLoss)
        #expect(result.comparison.grownHeldOutLoss == grown.heldOutLoss && result.comparison.scratchHeldOutLoss == scratch.heldOutLoss)
        #expect(abs(result.comparison.flopsRatio - grown.cumulativeFlops / scratch.cumulativeFlops) < 1e-12)
        #expect(result.planner.grewAtStep == s.growStep && !result.planner.decision.isEmpty)
        #expect(result.planner.timeToGrow == (result.planner.slope > result.planner.threshold))
    }

    /// The checkpoints re-open (every chunk's checksum), the grown one records the growth
    /// and its passed check, and both SVGs parse with three curves and the growth marked.
    @Test func quickDemoWritesReadableCheckpointsAndPlots() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (run, decoded) = try Self.runQuickDemo(in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let result = try #require(decoded, "demo --json did not decode:\n\(run.stdout)")
        let out = folder.appendingPathComponent("out")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
                == ["small.h5", "grown.h5", "grown-trained.h5", "scratch.h5", "loss-vs-tokens.svg", "loss-vs-flops.svg"])
        #expect(result.outputs.checkpoints.count == 4 && result.outputs.plots.count == 2)
        for path in result.outputs.checkpoints {
            let reader = try CheckpointReader(path: path)
            try reader.verifyAllChunks()
            #expect(reader.history.count > 0, "\(path)")
        }
        let grown = try CheckpointReader(path: result.outputs.checkpoints[1])
        let record = try #require(grown.provenance.last)
        #expect(record.operatorName == "grow" && record.growth?.exact == true && record.source == "small.h5")
        #expect(record.growth?.operators == ["depth=identity:2", "width=duplicate:2,snr=20"])
        #expect(record.verification != nil && record.sourceSHA256?.count == 64)
        #expect(grown.history.count == result.settings.growStep)
        let trained = try CheckpointReader(path: result.outputs.checkpoints[2])
        #expect(trained.trainer.step == result.settings.growStep + result.settings.grownSteps && trained.config == grown.config)

        for plot in result.outputs.plots {
            let svg = try PlotCommandTests.Elements(URL(fileURLWithPath: plot))
            #expect(svg.ok, "\(plot) does not parse")
            #expect(svg.all("path", "run").count == 3, "\(plot)")
            let marks = svg.all("g", "growth")
            #expect(marks.count == 1 && marks.first?.attributes["data-run"] == "1"
                    && marks.first?.attributes["data-entry"] == "\(result.settings.growStep - 1)", "\(plot)")
        }
        // The growth also passes `growkit verify` read back from the files.
        let verify = try runGrowkit(["verify", result.outputs.checkpoints[0], result.outputs.checkpoints[1]])
        #expect(verify.status == 0 && verify.stdout.contains("PASS"), "\(verify.stdout)\(verify.stderr)")
    }

    /// Text mode prints the stages' tables and where the files went; a second run
    /// into the same folder replaces the demo's own outputs.
    @Test func quickDemoTextAndRerun() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for _ in 0..<2 {
            let run = try runGrowkit(["demo", "--quick", "--fixtures", fixturesFolder.path], currentDirectory: folder)
            #expect(run.status == 0, "\(run.stderr)")
            for needle in ["1. Forward pass vs Hugging Face", "3. When to grow", "function preservation (growkit verify)",
                           "pass (preserved)", "Wrote growkit-demo/: small.h5"] {
                #expect(run.stdout.contains(needle), "no '\(needle)' in:\n\(run.stdout)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("growkit-demo").path).count == 6)
    }

    @Test func demoWithoutFixturesFailsCleanly() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGrowkit(["demo", "--fixtures", folder.path, "--out", folder.path], currentDirectory: folder)
        expectCleanFailure(run, mentioning: ["fixtures"])
        let badOperator = try runGrowkit(["demo", "--quick", "--width", "bogus:2", "--fixtures", fixturesFolder.path,
                                          "--out", folder.appendingPathComponent("out").path], currentDirectory: folder)
        expectCleanFailure(badOperator, mentioning: ["unknown width operator 'bogus'"])
    }
}
