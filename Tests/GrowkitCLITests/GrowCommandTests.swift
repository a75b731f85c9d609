import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

@Suite struct GrowCommandTests {
    let llama = fixturesFolder.appendingPathComponent("tiny-llama.h5").path
    let gpt2 = fixturesFolder.appendingPathComponent("tiny-gpt2.h5").path

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The growth is written, re-reads, passes every checksum, records itself, and the
    /// same seed gives the same bytes; the input is byte-identical afterwards.
    @Test func growWritesAVerifiedRecordedStateDeterministically() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let before = try bytes(llama)
        var outputs: [Data] = []
        for name in ["a.h5", "b.h5"] {
            let out = folder.appendingPathComponent(name).path
            let run = try runGrowkit(["grow", llama, out, "--depth", "identity:2", "--width", "split:intermediate=80",
                                      "--seed", "5", "--time", "2026-01-01T00:00:00Z"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("function-preserving"))
            outputs.append(try bytes(out))
        }
        #expect(outputs[0] == outputs[1])
        #expect(try bytes(llama) == before)
        let reader = try CheckpointReader(path: folder.appendingPathComponent("a.h5").path)
        try reader.verifyAllChunks { _ in }
        #expect(reader.config.numLayers == 4 && reader.config.intermediateSize == 80)
        let record = try #require(reader.provenance.last)
        #expect(record.operatorName == "grow" && record.source == "tiny-llama.h5")
        #expect(record.sourceSHA256?.count == 64)
        #expect(record.growth?.exact == true && record.growth?.newLayers == [1, 3])
        #expect(record.growth?.operators == ["depth=identity:2", "width=split:intermediate=80"])
        // A different seed picks other split sources.
        let other = folder.appendingPathComponent("c.h5").path
        #expect(try runGrowkit(["grow", llama, other, "--depth", "identity:2", "--width", "split:intermediate=80",
                                "--seed", "6", "--time", "2026-01-01T00:00:00Z"]).status == 0)
        #expect(try bytes(other) != outputs[0])
    }

    /// `--verify` checks before writing and records the result; a non-exact operator is
    /// reported as changed by design and still written.
    @Test func verifyInlineRecordsTheResult() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = fixturesFolder.appendingPathComponent("hf/llama_gqa.h5").path
        let exact = folder.appendingPathComponent("exact.h5").path
        let run = try runGrowkit(["grow", source, exact, "--depth", "identity:2", "--width", "duplicate:2,snr=30", "--verify"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("preserved"))
        guard case .object(let verification)? = try CheckpointReader(path: exact).provenance.last?.verification else {
            Issue.record("no verification in the provenance record")
            return
        }
        #expect(verification["verdict"] == .string("preserved") && verification["passed"] == .bool(true))
        if case .number(let diff)? = verification["max_abs_logit_diff"] { #expect(diff <= 1e-4) } else { Issue.record("no max_abs_logit_diff") }

        let stacked = folder.appendingPathComponent("stacked.h5").path
        let stack = try runGrowkit(["grow", source, stacked, "--depth", "stack:2", "--verify"])
        #expect(stack.status == 0 && stack.stdout.contains("changed by design"))
        guard case .object(let changed)? = try CheckpointReader(path: stacked).provenance.last?.verification else {
            Issue.record("no verification in the stacked record")
            return
        }
        #expect(changed["verdict"] == .string("changed_by_design"))
    }

    @Test func dryRunPrintsThePlanAndWritesNothing() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out.h5").path
        let run = try runGrowkit(["grow", gpt2, out, "--width", "staged", "--dry-run"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("hidden 64"))
        #expect(run.stdout.contains("model.layers.1.mlp.up_proj.weight"))
        #expect(run.stdout.contains("block-diagonal"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func stackDefaultsToTheStackingPapersPractice() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out.h5").path
        #expect(try runGrowkit(["grow", gpt2, out, "--depth", "stack:0-1,0-1,1-1"]).status == 0)
        let reader = try CheckpointReader(path: out)
        #expect(reader.config.numLayers == 5)
        #expect(reader.trainer.step == 0)  // schedule restart
        #expect(try reader.momentAttributes(named: "model.layers.4.mlp.up_proj.weight").step == 0)  // optimizer reset
        #expect(try reader.parameter(named: "model.layers.4.mlp.up_proj.weight")
                == CheckpointReader(path: gpt2).parameter(named: "model.layers.1.mlp.up_proj.weight"))
    }

    /// Bad input: a clear sentence, non-zero exit, nothing under the output name, input unchanged.
    @Test(arguments: [
        (["--width", "duplicate:1"], "integer >= 2"),
        (["--width", "duplicate:1.5"], "not an integer"),
        (["--width", "staged:3"], "is not 2"),
        (["--width", "zero:heads=5"], "multiple of kv_heads"),
        (["--width", "zero:heads=6,kv_heads=6"], "fewer than the source's"),
        (["--width", "zero:hidden=16"], "smaller than the source's"),
        (["--depth", "stack:0-5"], "outside the source's layers"),
        (["--depth", "grow:2"], "the depth operators are stack, interleave, identity, random"),
        (["--depth", "identity:2,colour=blue"], "colour=blue is not an argument"),
        (["--depth", "identity:2,source=above"], "previous, next, random"),
        ([], "give --depth"),
    ] as [([String], String)])
    func badOperatorsAreRefused(arguments: [String], message: String) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out.h5").path
        let before = try bytes(llama)
        let run = try runGrowkit(["grow", llama, out] + arguments)
        #expect(run.status != 0 && run.status < 128)
        #expect(run.stderr.split(separator: "\n").first?.contains(message) == true, "\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(try bytes(llama) == before)
    }

    /// Carrying moments needs moments: a weights-only input (a Hugging Face folder) says so.
    @Test func carryingFromAWeightsOnlyInputIsRefused() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = fixturesFolder.appendingPathComponent("hf-folders/gpt2_tied").path + "/"
        let out = folder.appendingPathComponent("out.h5").path
        let run = try runGrowkit(["grow", input, out, "--depth", "identity:2", "--optimizer", "carry"])
        expectCleanFailure(run, mentioning: ["weights only", "--optimizer reset"])
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try runGrowkit(["grow", input, out, "--depth", "identity:2", "--optimizer", "reset"]).status == 0)
    }

    @Test func outputEqualToInputIsRefused() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("in.h5").path
        try FileManager.default.copyItem(atPath: llama, toPath: copy)
        let before = try bytes(copy)
        let run = try runGrowkit(["grow", copy, copy, "--depth", "identity:2"])
        expectCleanFailure(run, mentioning: ["the output is the input file"])
        #expect(try bytes(copy) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["in.h5"])
    }

    @Test func gpt2HiddenGrowthNeedsMatchingHeads() throws {
        let run = try runGrowkit(["grow", gpt2, "/tmp/never-written.h5", "--width", "zero:hidden=48"])
        expectCleanFailure(run, mentioning: ["gpt2 needs num_heads x head_dim = hidden_size", "heads=6"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.h5"))
    }
}
