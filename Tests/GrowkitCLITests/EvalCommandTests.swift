import GrowkitTestSupport
import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit eval` end to end: agreement with Hugging Face, and every bad input.
@Suite struct EvalCommandTests {
    /// Writes `tokens` as a little-endian uint16 file (nanoGPT layout) and returns its path.
    static func writeTokens(_ tokens: [Int], named name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(tokens.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }).write(to: url)
        return url.path
    }

    static func meanLoss(_ run: GrowkitRun) throws -> Double {
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return try #require(object?["mean_loss"] as? Double)
    }

    /// Row 0 of each HF reference batch (fixtures/hf/*.reference.h5) is 16 tokens plus
    /// their 16 next-token targets, i.e. 17 consecutive tokens: a data file of exactly one
    /// window, so `eval --batch-size 1 --seq-len 16` scores exactly that row. The
    /// expected loss is the mean over the 16 positions of `logsumexp(z) - z[target]`
    /// computed in float64 with numpy from HF's own logits in the reference file
    /// (`row 0`; HF's stored `loss` masks some targets, so it is not the same mean).
    /// Tolerance 1e-5: the float32 loss near 7 has an ulp of 4.8e-7 and the forward pass
    /// matches HF's float32 logits to about 1e-6 (observed difference here: 1e-7 and 4e-7);
    /// 1e-5 leaves room for another float32 summation order in sgemm, and would still
    /// catch any real error (one wrong target, a missing bias) by orders of magnitude.
    @Test(arguments: [
        ("gpt2_tied", [36, 200, 202, 18, 245, 206, 195, 22, 42, 76, 98, 81, 181, 64, 150, 218, 111], 6.942643538378165),
        ("llama_gqa", [139, 78, 52, 45, 141, 139, 122, 84, 95, 36, 175, 155, 177, 169, 167, 204, 79], 6.9355768346049995),
    ])
    func lossMatchesHuggingFace(fixture: String, tokens: [Int], expected: Double) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Self.writeTokens(tokens, named: "row0.bin", in: folder)
        let checkpoint = fixturesFolder.appendingPathComponent("hf/\(fixture).h5").path
        let run = try runGrowkit(["eval", checkpoint, "--data", data, "--batches", "2", "--batch-size", "1", "--seq-len", "16", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let loss = try Self.meanLoss(run)
        #expect(abs(loss - expected) <= 1e-5, "growkit \(loss) vs HF \(expected)")
    }

    /// Same seed, same figure; text output names the loss and perplexity = exp(loss).
    @Test func deterministicAndHumanReadable() throws {
        let checkpoint = fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        let arguments = ["eval", checkpoint, "--data", corpus, "--batches", "3", "--batch-size", "2", "--seq-len", "8", "--seed", "7"]
        let first = try runGrowkit(arguments + ["--json"]), second = try runGrowkit(arguments + ["--json"])
        #expect(try Self.meanLoss(first) == Self.meanLoss(second))
        let other = try runGrowkit(["eval", checkpoint, "--data", corpus, "--batches", "3", "--batch-size", "2", "--seq-len", "8", "--seed", "8", "--json"])
        #expect(try Self.meanLoss(other) != Self.meanLoss(first))

        let text = try runGrowkit(arguments + ["--split", "validation"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("perplexity") && text.stdout.contains("141835 tokens"))
        // Progress goes to stderr (not a terminal here: plain lines), never stdout.
        #expect(text.stderr.contains("eval batch 3/3"))
        #expect(!text.stdout.contains("eval batch"))
    }

    @Test func tokenAtOrAboveVocabSize() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Self.writeTokens([1, 2, 3, 300] + Array(repeating: 5, count: 40), named: "wide.bin", in: folder)
        let run = try runGrowkit(["eval", fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path, "--data", data, "--seq-len", "16"])
        expectCleanFailure(run, mentioning: [data, "token id 300", "token offset 3", "vocab_size 256"])
    }

    @Test func sequenceLongerThanLearnedPositions() throws {
        let checkpoint = fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        let run = try runGrowkit(["eval", checkpoint, "--data", corpus, "--seq-len", "33"])
        expectCleanFailure(run, mentioning: [checkpoint, "max_position 32", "--seq-len 32"])
    }

    @Test func dataShorterThanOneWindow() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("short.txt").path
        try Data("ten bytes!".utf8).write(to: URL(fileURLWithPath: data))
        let run = try runGrowkit(["eval", fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path, "--data", data, "--seq-len", "16"])
        expectCleanFailure(run, mentioning: [data, "10 tokens", "17"])
    }

    @Test func missingDataFileAndBadFormatName() throws {
        let checkpoint = fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path
        expectCleanFailure(try runGrowkit(["eval", checkpoint, "--data", "/nonexistent/train.bin"]), mentioning: ["/nonexistent/train.bin"])
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        expectCleanFailure(try runGrowkit(["eval", checkpoint, "--data", corpus, "--format", "parquet"]), mentioning: ["parquet", "uint16"])
        expectCleanFailure(try runGrowkit(["eval", checkpoint, "--data", corpus, "--batches", "0"]), mentioning: ["--batches"])
    }

    /// num_heads 4 with num_kv_heads 3: the checkpoint reader validates the config
    /// (``ModelConfig/validate()``) before any tensor, so eval stops there, naming the attribute.
    @Test func headsThatDoNotDivide() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("bad-heads.h5").path
        try FileManager.default.copyItem(atPath: fixturesFolder.appendingPathComponent("hf/llama_gqa.h5").path, toPath: checkpoint)
        try CheckpointSurgery.edit(checkpoint) { try $0.setInt("num_kv_heads", of: "/config", 3) }
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        let run = try runGrowkit(["eval", checkpoint, "--data", corpus])
        expectCleanFailure(run, mentioning: [checkpoint, "num_kv_heads"])
    }

    /// A NaN in one weight: refused before any batch, naming the tensor and the index.
    @Test func nonFiniteWeight() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var state = try CheckpointReader(path: fixturesFolder.appendingPathComponent("hf/gpt2_tied.h5").path).readAll()
        let name = "model.layers.1.mlp.up_proj.weight"
        state.parameters[name]?.data[5] = .nan
        let checkpoint = folder.appendingPathComponent("nan.h5").path
        try CheckpointWriter.write(state, to: checkpoint)
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        let run = try runGrowkit(["eval", checkpoint, "--data", corpus])
        expectCleanFailure(run, mentioning: [checkpoint, name, "nan", "index 5"])

        state.parameters[name]?.data[5] = 1
        state.parameters["model.norm.bias"]?.data[0] = -.infinity
        let infinite = folder.appendingPathComponent("inf.h5").path
        try CheckpointWriter.write(state, to: infinite)
        expectCleanFailure(try runGrowkit(["eval", infinite, "--data", corpus]), mentioning: [infinite, "model.norm.bias", "-inf"])
    }
}
