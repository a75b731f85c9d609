import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

@Suite struct ConvertCommandTests {
    let folders = fixturesFolder.appendingPathComponent("hf-folders").path

    @Test func convertsBothWays() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let state = scratch.appendingPathComponent("llama.h5").path
        let run = try runGrowkit(["convert", folders + "/llama_gqa_bf16_sharded", state])
        #expect(run.status == 0, "\(run.stderr)")
        let reader = try CheckpointReader(path: state)
        #expect(reader.config.family == .llama && reader.config.numKVHeads == 2)
        let hf = scratch.appendingPathComponent("llama-hf").path
        let back = try runGrowkit(["convert", state, hf, "--dtype", "bfloat16", "--max-shard-bytes", "100000"])
        #expect(back.status == 0, "\(back.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: hf).sorted()
        #expect(files.contains("config.json") && files.contains("model.safetensors.index.json"))
        // BF16 in, BF16 out: the bytes of every tensor equal transformers' (values were BF16 already).
        let model = try HuggingFaceModel(path: hf)
        let original = try HuggingFaceModel(path: folders + "/llama_gqa_bf16_sharded")
        var ours: [String: [UInt32]] = [:], theirs: [String: [UInt32]] = [:]
        try model.forEachParameter { spec, t in ours[spec.name] = t.data.map(\.bitPattern) }
        try original.forEachParameter { spec, t in theirs[spec.name] = t.data.map(\.bitPattern) }
        #expect(ours == theirs)
    }

    @Test func unsupportedArchitectureIsOneSentenceAndNoOutput() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in").path
        try FileManager.default.copyItem(atPath: folders + "/gpt2_tied", toPath: input)
        try #"{"architectures": ["BertForMaskedLM"], "model_type": "bert"}"#.write(toFile: input + "/config.json", atomically: false, encoding: .utf8)
        let out = scratch.appendingPathComponent("out.h5").path
        let run = try runGrowkit(["convert", input, out])
        expectCleanFailure(run, mentioning: ["config.json", "BertForMaskedLM", "GPT2LMHeadModel", "LlamaForCausalLM"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["in"])
    }

    @Test func badSafetensorsHeaderIsOneSentenceAndNoOutput() throws {
        let scratch = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in").path
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folders + "/gpt2_tied/config.json", toPath: input + "/config.json")
        // Header length 2^40: refused before anything is allocated.
        try Data([0, 0, 0, 0, 0, 1, 0, 0] + Array("{}".utf8)).write(to: URL(fileURLWithPath: input + "/model.safetensors"))
        let run = try runGrowkit(["convert", input, scratch.appendingPathComponent("out.h5").path])
        expectCleanFailure(run, mentioning: ["model.safetensors", "header length"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["in"])
    }
}
