import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// Weights-only states and Hugging Face models through every command that reads a state
/// (issue 13 items 2 and 4).
@Suite struct WeightsOnlyCLITests {
    let hf = fixturesFolder.appendingPathComponent("hf-folders/llama_gqa_bf16_sharded").path
    let gpt2 = fixturesFolder.appendingPathComponent("hf-folders/gpt2_tied").path

    /// `convert` of the Llama fixture: a weights-only state.
    func converted(in scratch: URL) throws -> String {
        let path = scratch.appendingPathComponent("w.h5").path
        let run = try runGrowkit(["convert", hf, path])
        #expect(run.status == 0, "\(run.stderr)")
        return path
    }

    func bits(_ parameters: [String: Tensor]) -> [String: [UInt32]] { parameters.mapValues { $0.data.map(\.bitPattern) } }

    @Test func convertWritesAWeightsOnlyState() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let reader = try CheckpointReader(path: try converted(in: scratch))
        #expect(reader.isWeightsOnly)
        #expect(reader.tensors.count == reader.specs.count)
    }

    @Test func inspectSaysWeightsOnlyInTextAndJSON() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path = try converted(in: scratch)
        for input in [path, hf] {
            let text = try runGrowkit(["inspect", input])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.components(separatedBy: "\n")[0].hasSuffix("weights only"), "\(text.stdout)")
            #expect(text.stdout.contains("weights only: no optimizer state"))
            #expect(!text.stdout.contains("optimizer: AdamW"))
            let json = try runGrowkit(["inspect", "--json", input])
            #expect(json.status == 0, "\(json.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(document["weights_only"] as? Bool == true)
            #expect(document["optimizer"] is NSNull && document["trainer"] is NSNull)
            #expect((document["config"] as? [String: Any])?["num_layers"] as? Int == 2)
        }
        let full = try runGrowkit(["inspect", "--json", fixturesFolder.appendingPathComponent("tiny-llama.h5").path])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [String: Any])
        #expect(document["weights_only"] as? Bool == false)
        // safetensors have no checksums: --verify on a Hugging Face model is one sentence.
        expectCleanFailure(try runGrowkit(["inspect", "--verify", hf]), mentioning: ["--verify", "safetensors"])
    }

    @Test func growOnWeightsOnlyHDF5WritesWeightsOnlyAndRecordsNoOptimizer() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try converted(in: scratch)
        let output = scratch.appendingPathComponent("g.h5").path
        let run = try runGrowkit(["grow", input, output, "--depth", "stack:2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("weights only: no optimizer state or schedule to carry"), "\(run.stdout)")
        let grown = try CheckpointReader(path: output)
        #expect(grown.isWeightsOnly && grown.config.numLayers == 4)
        let record = try #require(grown.provenance.last)
        #expect(record.operatorName == "grow" && record.arguments["optimizer"] == .string("none (weights only)"))
        #expect(record.sourceSHA256?.count == 64)
        // stack:2: layer 2 is layer 0.
        let source = try CheckpointReader(path: input)
        #expect(try grown.parameter(named: "model.layers.2.mlp.down_proj.weight").data
                == source.parameter(named: "model.layers.0.mlp.down_proj.weight").data)
    }

    @Test func growFromAndToHuggingFaceFoldersMatchesTheHDF5Route() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let folder = scratch.appendingPathComponent("hf2x").path + "/"
        let run = try runGrowkit(["grow", hf, folder, "--depth", "stack:2", "--shard-size", "100000"])
        #expect(run.status == 0, "\(run.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files.contains("config.json") && files.contains("model.safetensors.index.json")
                && files.contains(HuggingFaceProvenance.fileName), "\(files)")
        let model = try HuggingFaceModel(path: folder)
        #expect(model.config.numLayers == 4)
        let provenance = HuggingFaceProvenance.read(besides: model.configPath)
        #expect(provenance.last?.operatorName == "grow" && provenance.last?.arguments["optimizer"] == .string("none (weights only)"))
        // HF in, HDF5 out: the same tensors, bit for bit.
        let h5 = scratch.appendingPathComponent("g.h5").path
        #expect(try runGrowkit(["grow", hf, h5, "--depth", "stack:2"]).status == 0)
        let reader = try CheckpointReader(path: h5)
        #expect(reader.isWeightsOnly)
        var fromFolder: [String: Tensor] = [:]
        try model.forEachParameter { spec, tensor in fromFolder[spec.name] = tensor }
        #expect(bits(fromFolder) == bits(try reader.parameters()))
        // An HF folder grown from an HF folder is a valid input again (verify: function preserved by identity).
        let identity = scratch.appendingPathComponent("id").path + "/"
        #expect(try runGrowkit(["grow", gpt2, identity, "--depth", "identity:2"]).status == 0)
        let verify = try runGrowkit(["verify", gpt2, identity])
        #expect(verify.status == 0 && verify.stdout.contains("PASS"), "\(verify.stdout)\(verify.stderr)")
    }

    @Test func growToASafetensorsFileWritesConfigBesideItAndNeverOverwrites() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("m.safetensors").path
        let run = try runGrowkit(["grow", gpt2, file, "--depth", "stack:2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
                == ["config.json", HuggingFaceProvenance.fileName, "m.safetensors"])
        let model = try HuggingFaceModel(path: file)
        #expect(model.config.numLayers == 2 * (try HuggingFaceModel(path: gpt2)).config.numLayers)
        let again = try runGrowkit(["grow", gpt2, scratch.appendingPathComponent("m2.safetensors").path, "--depth", "stack:2"])
        expectCleanFailure(again, mentioning: ["config.json", "already exists"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).count == 3)
    }

    @Test func growAFullStateIntoAFolderSaysTheMomentsAreNotWritten() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let full = fixturesFolder.appendingPathComponent("tiny-llama.h5").path
        let folder = scratch.appendingPathComponent("out").path + "/"
        let run = try runGrowkit(["grow", full, folder, "--depth", "stack:2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("a Hugging Face output holds the weights only"), "\(run.stdout)")
        let h5 = scratch.appendingPathComponent("g.h5").path
        #expect(try runGrowkit(["grow", full, h5, "--depth", "stack:2"]).status == 0)
        // The folder's values are the full growth's values.
        let diff = try runGrowkit(["diff", h5, folder])
        // (The moments are only in A: the folder has none.)
        let count = try CheckpointReader(path: h5).specs.count
        #expect(diff.stdout.contains("summary: \(count) identical, 0 changed, 0 shape changed, \(2 * count) only in A, 0 only in B"),
                "\(diff.stdout)")
    }

    @Test func trainResumeOnWeightsOnlyStartsAFreshAdamWWithTheGivenSchedule() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try converted(in: scratch)
        let out = scratch.appendingPathComponent("t.h5").path
        let run = try runGrowkit(["train", "--resume", input, "--data", jargon, "--out", out, "--steps", "2",
                                  "--batch-size", "2", "--seq-len", "16", "--schedule", "constant", "--lr", "0.002"])
        #expect(run.status == 0, "\(run.stderr)")
        let trained = try CheckpointReader(path: out)
        #expect(!trained.isWeightsOnly)
        #expect(trained.trainer.step == 2 && trained.trainer.batchSize == 2 && trained.trainer.seqLen == 16)
        #expect(trained.schedule.kind == .constant && trained.schedule.peakLR == 0.002)
        #expect(try trained.momentAttributes(named: "model.norm.weight").step == 2)
        #expect(trained.provenance.first?.operatorName == "convert")
    }

    @Test func diffWithOneWeightsOnlySide() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try converted(in: scratch)
        let out = scratch.appendingPathComponent("t.h5").path
        #expect(try runGrowkit(["train", "--resume", input, "--data", jargon, "--out", out, "--steps", "1",
                                "--batch-size", "2", "--seq-len", "16"]).status == 0)
        let run = try runGrowkit(["diff", input, out, "--json"])
        #expect(run.status != 2, "\(run.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let tensors = try #require(document["tensors"] as? [[String: Any]])
        let onlyInB = tensors.filter { $0["status"] as? String == "only_in_b" }
        #expect(onlyInB.count == 2 * 21 && onlyInB.allSatisfy { $0["role"] as? String != "parameter" })
        #expect(tensors.filter { $0["role"] as? String == "parameter" }.count == 21)
        // Both weights only, Hugging Face folder against its conversion: every value identical.
        let same = try runGrowkit(["diff", hf, input])
        #expect(same.stdout.contains("summary: 21 identical, 0 changed"), "\(same.stdout)\(same.stderr)")
    }

    @Test func evalAndVerifyGradientsOnHuggingFaceFolders() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let eval = try runGrowkit(["eval", hf, "--data", jargon, "--batches", "1", "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.stdout.contains("loss"))
        let grown = scratch.appendingPathComponent("id").path + "/"
        #expect(try runGrowkit(["grow", hf, grown, "--depth", "identity:2"]).status == 0)
        let gradients = try runGrowkit(["verify", "--gradients", hf, grown])
        #expect(gradients.status == 0, "\(gradients.stdout)\(gradients.stderr)")
        #expect(gradients.stdout.contains("moments  not checked"), "\(gradients.stdout)")
        #expect(gradients.stdout.contains("moments not checked: weights only"), "\(gradients.stdout)")
    }
}
