import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit verify --gradients` and `--steps` end to end: states grown by `growkit grow` through files.
@Suite struct VerifyGradientsCommandTests {
    static let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path

    /// `growkit grow SMALL OUT ARGS...` into `folder`; returns OUT's path.
    static func grow(_ family: ModelConfig.Family, _ arguments: [String], in folder: URL, name: String = "grown.h5") throws -> String {
        let out = folder.appendingPathComponent(name).path
        let run = try runGrowkit(["grow", VerifyTestStates.fixture(family), out] + arguments)
        #expect(run.status == 0, "\(run.stderr)")
        return out
    }

    @Test(arguments: [ModelConfig.Family.gpt2, .llama]) func exactGrowthPasses(family: ModelConfig.Family) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let grown = try Self.grow(family, ["--depth", "identity:layers=3", "--width", "duplicate:2"], in: folder)
        let small = VerifyTestStates.fixture(family)
        let text = try runGrowkit(["verify", "--gradients", small, grown])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("claims exactness; optimizer carry"))
        #expect(text.stdout.contains("attention q/k/v") && text.stdout.contains("result   PASS"))
        let json = try verifyJSON(try runGrowkit(["verify", "--gradients", small, grown, "--json", "--all"]))
        let result = try #require(json["result"] as? [String: Any])
        #expect(result["verdict"] as? String == "consistent" && result["passed"] as? Bool == true)
        let rows = try #require(result["rows"] as? [[String: Any]])
        // --all: one row per grown tensor.
        #expect(rows.count == (try CheckpointReader(path: grown)).specs.count)
        let total = try #require(result["total"] as? [String: Any])
        #expect((total["worst_gradient_error"] as? Double ?? 1) < 1e-3 && (total["gradient_entries"] as? Int ?? 0) > 0)
    }

    /// A correctly grown file whose one tensor's exp_avg was doubled (the rule without its `s = 1/2`):
    /// exit 1, one sentence naming the tensor.
    @Test func wrongMomentFailsNamingTheTensor() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Self.grow(.llama, ["--width", "duplicate:2"], in: folder)
        var state = try CheckpointReader(path: good).readAll()
        let name = "model.layers.0.mlp.down_proj.weight"
        state.optimizerState[name]!.expAvg.data = state.optimizerState[name]!.expAvg.data.map { $0 * 2 }
        let bad = try VerifyTestStates.write(state, "bad.h5", in: folder)
        let run = try runGrowkit(["verify", "--gradients", VerifyTestStates.fixture(.llama), bad])
        #expect(run.stdout.contains("result   FAIL") && run.stdout.contains("mismatch exp_avg of \(name)"))
        expectCleanFailure(run, mentioning: [bad, name, "exp_avg"])
    }

    /// Not exact (stack with carried moments): the figures, "approximate by design", exit 0.
    @Test func stackIsApproximateByDesign() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let grown = try Self.grow(.gpt2, ["--depth", "stack:2", "--optimizer", "carry"], in: folder)
        let run = try runGrowkit(["verify", "--gradients", VerifyTestStates.fixture(.gpt2), grown])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("does not claim exactness") && run.stdout.contains("approximate by design"))
    }

    @Test func stepsReportsCurvesAndSpike() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let grown = try Self.grow(.llama, ["--width", "duplicate:2"], in: folder)
        let small = VerifyTestStates.fixture(.llama)
        let run = try runGrowkit(["verify", "--steps", "3", small, grown, "--data", Self.corpus, "--batch-size", "2",
                                  "--seq-len", "32", "--scratch", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try #require(try verifyJSON(run)["result"] as? [String: Any])
        for key in ["source", "grown", "scratch"] {
            #expect(((result[key] as? [String: Any])?["losses"] as? [Double])?.count == 3)
        }
        #expect(result["spiked"] as? Bool == false && result["loss_at_growth"] is Double && result["loss_after_growth"] is Double)
        // Nothing written without --out-dir.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["grown.h5"])
        let text = try runGrowkit(["verify", "--steps", "2", small, grown, "--data", Self.corpus, "--seq-len", "32"])
        #expect(text.stdout.contains("spike      no") && text.stdout.contains("at growth"))
    }

    @Test func badInput() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = VerifyTestStates.fixture(.llama)
        // GROWN not grown: its provenance shows the fixture's own record.
        expectCleanFailure(try runGrowkit(["verify", "--gradients", small, small]), mentioning: ["not derived", "make-fixture"])
        expectCleanFailure(try runGrowkit(["verify", "--steps", "2", small, small, "--data", Self.corpus]),
                           mentioning: ["not derived", "make-fixture"])
        // Different families.
        let gpt2 = VerifyTestStates.fixture(.gpt2)
        expectCleanFailure(try runGrowkit(["verify", "--gradients", gpt2, small]), mentioning: ["same family"])
        // --steps needs --data; a data file shorter than one batch.
        // (Option errors exit 1 like every error: the convention of Sources/growkit/Main.swift.)
        let noData = try runGrowkit(["verify", "--steps", "2", small, small])
        #expect(noData.status == 1 && noData.stderr.contains("--steps needs --data"))
        let grown = try Self.grow(.llama, ["--width", "duplicate:2"], in: folder)
        let short = folder.appendingPathComponent("short.txt")
        try Data("far too short".utf8).write(to: short)
        expectCleanFailure(try runGrowkit(["verify", "--steps", "2", small, grown, "--data", short.path]), mentioning: ["short.txt"])
        let both = try runGrowkit(["verify", "--gradients", "--steps", "2", small, grown, "--data", Self.corpus])
        #expect(both.status == 1 && both.stderr.contains("pass one of them"))
    }
}
