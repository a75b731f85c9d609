import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// A valid config for `growkit train --config` (a small GPT-2), as a JSON object to edit.
nonisolated(unsafe) let smallConfig: [String: Any] = [
    "family": "gpt2", "vocab_size": 256, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "num_kv_heads": 2,
    "head_dim": 16, "intermediate_size": 64, "max_position": 64, "norm": "layernorm", "norm_eps": 1e-5,
    "activation": "gelu_tanh", "position": "learned", "rope_theta": 10000.0, "tie_embeddings": true,
    "attention_bias": true, "mlp_bias": true,
]

func writeConfig(_ object: [String: Any], in folder: URL, name: String = "config.json") throws -> String {
    let path = folder.appendingPathComponent(name).path
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    return path
}

let jargon = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path

@Suite("growkit train")
struct TrainCommandTests {
    @Test func newRunWritesACheckpointAndAJSONSummary() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let out = folder.appendingPathComponent("run.h5").path
        let run = try runGrowkit(["train", "--config", config, "--data", jargon, "--out", out, "--steps", "3",
                                  "--batch-size", "2", "--seq-len", "16", "--eval-every", "3", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(summary?["last_step"] as? Int == 3)
        #expect(summary?["tokens_seen"] as? Int == 3 * 2 * 16)
        #expect((summary?["validation_loss"] as? Double).map { $0 > 0 && $0 < 7 } == true)
        let inspect = try runGrowkit(["inspect", out, "--json"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("\"data_cursor\""))
    }

    /// The three data formats: UTF-8 text as bytes, zstd-compressed text (above), a uint16 token file.
    @Test func trainsOnPlainTextAndOnUInt16Tokens() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let text = folder.appendingPathComponent("corpus.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 200).write(toFile: text, atomically: true, encoding: .utf8)
        let bin = folder.appendingPathComponent("train.bin").path
        var tokens = [UInt16](repeating: 0, count: 20_000)
        for i in tokens.indices { tokens[i] = UInt16((i * 7 + i / 13) % 256) }
        try Data(bytes: &tokens, count: tokens.count * 2).write(to: URL(fileURLWithPath: bin))
        for (data, name) in [(text, "text.h5"), (bin, "bin.h5")] {
            let out = folder.appendingPathComponent(name).path
            let run = try runGrowkit(["train", "--config", config, "--data", data, "--out", out, "--steps", "3",
                                      "--batch-size", "2", "--seq-len", "16", "--json"])
            #expect(run.status == 0, "\(data): \(run.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(summary?["last_step"] as? Int == 3)
        }
    }

    @Test func dataShorterThanOneBatchIsAClearError() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let data = folder.appendingPathComponent("short.txt").path
        try String(repeating: "tiny corpus ", count: 10).write(toFile: data, atomically: true, encoding: .utf8)
        let run = try runGrowkit(["train", "--config", config, "--data", data, "--out", folder.appendingPathComponent("o.h5").path,
                                  "--steps", "2", "--batch-size", "4", "--seq-len", "32"])
        expectCleanFailure(run, mentioning: [data, "needs"])
    }

    @Test func configFailingItsSchemaNamesTheField() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (field, value) in [("norm", "batchnorm" as Any), ("num_layers", 0 as Any), ("tie_embeddings", "yes" as Any)] {
            var broken = smallConfig
            broken[field] = value
            let config = try writeConfig(broken, in: folder)
            let run = try runGrowkit(["train", "--config", config, "--data", jargon,
                                      "--out", folder.appendingPathComponent("o.h5").path, "--steps", "1"])
            expectCleanFailure(run, mentioning: [config, "field \(field)"])
        }
        var missing = smallConfig
        missing["head_dim"] = nil
        let run = try runGrowkit(["train", "--config", try writeConfig(missing, in: folder), "--data", jargon,
                                  "--out", folder.appendingPathComponent("o.h5").path, "--steps", "1"])
        expectCleanFailure(run, mentioning: ["field head_dim", "missing"])
    }

    @Test func resumingWithAnotherModelShapeIsRefusedButAnotherBatchSizeIsNot() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let out = folder.appendingPathComponent("run.h5").path
        let first = try runGrowkit(["train", "--config", config, "--data", jargon, "--out", out, "--steps", "1",
                                    "--batch-size", "2", "--seq-len", "16"])
        #expect(first.status == 0, "\(first.stderr)")
        var deeper = smallConfig
        deeper["num_layers"] = 2
        let other = try writeConfig(deeper, in: folder, name: "deeper.json")
        let refused = try runGrowkit(["train", "--resume", out, "--config", other, "--data", jargon, "--out", out, "--steps", "2"])
        expectCleanFailure(refused, mentioning: ["--config", out, "num_layers"])
        let resumed = try runGrowkit(["train", "--resume", out, "--config", config, "--data", jargon, "--out", out,
                                      "--steps", "2", "--batch-size", "3"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // --steps counts in total: a value the run has already reached trains nothing and says so.
        let reached = try runGrowkit(["train", "--resume", out, "--data", jargon, "--out", out, "--steps", "2"])
        expectCleanFailure(reached, mentioning: ["--steps is 2", "step 2", "in total"])
    }

    @Test func nonFiniteLossStopsNamingTheStep() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let out = folder.appendingPathComponent("run.h5").path
        let run = try runGrowkit(["train", "--config", config, "--data", jargon, "--out", out, "--steps", "6",
                                  "--batch-size", "2", "--seq-len", "16", "--lr", "1e30", "--warmup", "0",
                                  "--schedule", "constant", "--clip", "0", "--save-every", "1", "--json"])
        expectCleanFailure(run, mentioning: ["became", "at step", out])
        #expect(FileManager.default.fileExists(atPath: out))
    }

    @Test func aNewRunDoesNotReplaceAnotherRunsCheckpoint() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let out = folder.appendingPathComponent("run.h5").path
        let args = ["train", "--config", config, "--data", jargon, "--out", out, "--steps", "1", "--batch-size", "2", "--seq-len", "16"]
        #expect(try runGrowkit(args).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        expectCleanFailure(try runGrowkit(args), mentioning: [out, "already exists", "--resume"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)
    }

    @Test func unwritableOutputFolderIsAnErrorAndTheCheckpointStaysIntact() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let out = folder.appendingPathComponent("run.h5").path
        #expect(try runGrowkit(["train", "--config", config, "--data", jargon, "--out", out, "--steps", "1",
                                "--batch-size", "2", "--seq-len", "16"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        // A folder that does not exist (root may write anywhere, so permissions cannot be the test).
        let nowhere = folder.appendingPathComponent("missing/deeper/run.h5").path
        let run = try runGrowkit(["train", "--resume", out, "--data", jargon, "--out", nowhere, "--steps", "2"])
        expectCleanFailure(run, mentioning: [nowhere, "not writable"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before)
    }

    /// LLaMA Pro's practice after identity depth growth: only the new blocks train; every other
    /// tensor keeps its values, moments and step bit for bit. Without the flag, a grown state
    /// resumes like any other.
    @Test func trainOnlyNewUpdatesWhatGrowthAddedAndNothingElse() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try writeConfig(smallConfig, in: folder)
        let small = folder.appendingPathComponent("small.h5").path, grown = folder.appendingPathComponent("grown.h5").path
        let common = ["--data", jargon, "--batch-size", "2", "--seq-len", "16"]
        #expect(try runGrowkit(["train", "--config", config, "--out", small, "--steps", "2"] + common).status == 0)
        let grow = try runGrowkit(["grow", small, grown, "--depth", "identity:2", "--schedule", "continue"])
        #expect(grow.status == 0, "\(grow.stderr)")
        let before = try CheckpointReader(path: grown).readAll()
        let record = try #require(before.provenance.last?.growth)
        #expect(!record.newTensors.isEmpty)

        let onlyNew = folder.appendingPathComponent("only-new.h5").path
        let run = try runGrowkit(["train", "--resume", grown, "--out", onlyNew, "--steps", "5", "--train-only", "new"] + common)
        #expect(run.status == 0, "\(run.stderr)")
        let after = try CheckpointReader(path: onlyNew).readAll()
        #expect(after.trainer.step == 5)
        for name in before.orderedNames {
            let old = before.optimizerState[name]!, new = after.optimizerState[name]!
            if record.newTensors.contains(name) {
                #expect(new.step == old.step + 3, "\(name) trains")
            } else {
                #expect(after.parameters[name]!.data.map(\.bitPattern) == before.parameters[name]!.data.map(\.bitPattern), "\(name) frozen")
                #expect(new.expAvg == old.expAvg && new.expAvgSq == old.expAvgSq && new.step == old.step, "\(name) moments untouched")
            }
        }
        let changed = record.newTensors.filter { after.parameters[$0]! != before.parameters[$0]! }
        #expect(changed.contains { $0.hasSuffix("o_proj.weight") }, "the new blocks' zero output projections start to train")

        let all = folder.appendingPathComponent("all.h5").path
        let resumed = try runGrowkit(["train", "--resume", grown, "--out", all, "--steps", "4", "--json"] + common)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // Refused on a state whose last record is not a growth.
        let refused = try runGrowkit(["train", "--resume", small, "--out", folder.appendingPathComponent("refused.h5").path,
                                      "--steps", "3", "--train-only", "new"] + common)
        expectCleanFailure(refused, mentioning: ["--train-only new", small, "--train-only all"])
    }
}
