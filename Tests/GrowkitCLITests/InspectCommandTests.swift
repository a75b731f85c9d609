import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitTestSupport
import Testing

/// `growkit inspect` and `growkit make-fixture`, run as the built executable.
@Suite struct InspectCommandTests {
    let gpt2 = fixturesFolder.appendingPathComponent("tiny-gpt2.h5").path
    let llama = fixturesFolder.appendingPathComponent("tiny-llama.h5").path

    /// A copy of a fixture in a fresh folder, edited with the HDF5 C API.
    func brokenCopy(of fixture: String, _ edit: (CheckpointSurgery) throws -> Void) throws -> (URL, String) {
        let folder = try makeTemporaryFolder()
        let path = folder.appendingPathComponent("broken.h5").path
        try FileManager.default.copyItem(atPath: fixture, toPath: path)
        try CheckpointSurgery.edit(path, edit)
        return (folder, path)
    }

    @Test func inspectShowsTheConfigOfBothFixtures() throws {
        let runGPT2 = try runGrowkit(["inspect", gpt2])
        #expect(runGPT2.status == 0, "\(runGPT2.stderr)")
        for needle in ["family gpt2", "vocab_size 256", "hidden_size 32", "num_layers 2", "norm layernorm",
                       "tie_embeddings true", "parameters: 35,712", "model/embed_positions/weight", "[256, 32]",
                       "cosine", "lr at step 40", "trainer: step 40", "history: 4 entries", "make-fixture"] {
            #expect(runGPT2.stdout.contains(needle), "inspect output lacks \(needle)")
        }
        #expect(!runGPT2.stdout.contains("lm_head"), "a tied model has no lm_head")
        let runLlama = try runGrowkit(["inspect", llama])
        #expect(runLlama.status == 0, "\(runLlama.stderr)")
        for needle in ["family llama", "num_kv_heads 2", "intermediate_size 64", "rmsnorm", "swiglu", "rope",
                       "parameters: 34,976", "lm_head/weight", "mlp/gate_proj/weight", "[16, 32]"] {
            #expect(runLlama.stdout.contains(needle), "inspect output lacks \(needle)")
        }
        #expect(runLlama.stderr.isEmpty)
    }

    @Test func jsonParsesAndHasTheConfig() throws {
        let run = try runGrowkit(["inspect", "--json", "--stats", "--verify", llama])
        #expect(run.status == 0, "\(run.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let config = try #require(document["config"] as? [String: Any])
        #expect(config["family"] as? String == "llama")
        #expect(config["vocab_size"] as? Int == 256)
        #expect(config["num_kv_heads"] as? Int == 2)
        #expect(config["tie_embeddings"] as? Bool == false)
        #expect(document["parameter_count"] as? Int == 34_976)
        #expect((document["tensors"] as? [Any])?.count == 63)
        #expect((document["statistics"] as? [Any])?.count == 63)
        #expect(document["verify"] as? String == "ok")
        let schedule = try #require(document["schedule"] as? [String: Any])
        // Hand-computed: cosine, p = 1e-3, m = 1e-4, W = 10, T = 200, step 40:
        // m + (p - m) (1 + cos(pi * 30/190)) / 2.
        let expected = 1e-4 + 9e-4 * (1 + cos(Double.pi * 30 / 190)) / 2
        let lr = try #require(schedule["lr_at_trainer_step"] as? Double)
        #expect(abs(lr - expected) <= 1e-15)
    }

    @Test func statsAndVerifyOnAGoodFile() throws {
        let run = try runGrowkit(["inspect", "--stats", "--verify", gpt2])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("/optimizer/exp_avg_sq/model/norm/bias"))
        #expect(run.stdout.contains("verify: OK"))
    }

    // MARK: bad inputs: one sentence, non-zero exit, no trap, no HDF5 stack

    @Test func notAnHDF5File() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("notes.h5").path
        try "just text\n".write(toFile: path, atomically: false, encoding: .utf8)
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [path, "not an HDF5 file"])
    }

    @Test func truncatedFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("truncated.h5").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: llama))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: path))
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [path, "truncated"])
    }

    @Test func wrongFormat() throws {
        let (folder, path) = try brokenCopy(of: gpt2) { try $0.setString("format", of: "/", "keras") }
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [path, "format is 'keras'", "not a growkit checkpoint"])
    }

    @Test func newerFormatVersion() throws {
        let (folder, path) = try brokenCopy(of: gpt2) { try $0.setInt("format_version", of: "/", 2) }
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [path, "format_version is 2", "upgrade growkit"])
    }

    @Test func missingGroupDatasetAndAttribute() throws {
        let (folder, path) = try brokenCopy(of: llama) { try $0.delete("/trainer") }
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [path, "group /trainer is missing"])

        let (folder2, path2) = try brokenCopy(of: llama) { try $0.delete("/params/lm_head/weight") }
        defer { try? FileManager.default.removeItem(at: folder2) }
        expectCleanFailure(try runGrowkit(["inspect", path2]), mentioning: [path2, "dataset /params/lm_head/weight is missing"])

        let (folder3, path3) = try brokenCopy(of: llama) { try $0.deleteAttribute("warmup_steps", of: "/schedule") }
        defer { try? FileManager.default.removeItem(at: folder3) }
        expectCleanFailure(try runGrowkit(["inspect", path3]), mentioning: [path3, "warmup_steps", "/schedule"])
    }

    @Test func tensorShapeDisagreesWithConfig() throws {
        let (folder, path) = try brokenCopy(of: gpt2) {
            try $0.replaceWithFloat32("/params/model/layers/1/mlp/up_proj/weight", shape: [128, 16])
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCleanFailure(try runGrowkit(["inspect", path]), mentioning: [
            "\(path): /params/model/layers/1/mlp/up_proj/weight has shape [128, 16] but the config implies [128, 32]",
        ])
    }

    @Test func absurdDimensionsAreRefusedBeforeAllocation() throws {
        // 10^12 x 32 floats would be 128 TB: refused from /config before any tensor is touched.
        let (folder, path) = try brokenCopy(of: gpt2) { try $0.setInt("vocab_size", of: "/config", 1_000_000_000_000) }
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCleanFailure(try runGrowkit(["inspect", "--stats", path]), mentioning: [path, "vocab_size is 1000000000000", "sane bound"])
    }

    @Test func corruptedChunkIsCaughtByVerify() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("corrupt.h5").path
        try FileManager.default.copyItem(atPath: gpt2, toPath: path)
        try corruptFirstChunk(path, dataset: "/params/model/layers/0/mlp/down_proj/weight")
        // Metadata-only inspect does not read the chunk; --verify does and names the dataset.
        #expect(try runGrowkit(["inspect", path]).status == 0)
        expectCleanFailure(try runGrowkit(["inspect", "--verify", path]),
                           mentioning: [path, "/params/model/layers/0/mlp/down_proj/weight", "checksum", "corrupted"])
    }

    // MARK: make-fixture

    @Test func makeFixtureIsDeterministicAndRefusesBadArguments() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.h5").path, b = folder.appendingPathComponent("b.h5").path
        let arguments = ["make-fixture", "--family", "llama", "--seed", "5", "--zstd", "3", "--bf16", "--time", "2026-01-01T00:00:00Z"]
        #expect(try runGrowkit(arguments + ["--out", a]).status == 0)
        #expect(try runGrowkit(arguments + ["--out", b]).status == 0)
        let stateA = try CheckpointReader(path: a).readAll(), stateB = try CheckpointReader(path: b).readAll()
        #expect(stateA.parameters == stateB.parameters && stateA.optimizerState == stateB.optimizerState)
        #expect(stateA.metadata == stateB.metadata)
        let info = try CheckpointReader(path: a).tensors
        #expect(info.allSatisfy { $0.zstdLevel == 3 && $0.elementType == ($0.role == .parameter ? .bfloat16 : .float32) })

        expectCleanFailure(try runGrowkit(arguments + ["--out", a]), mentioning: [a, "already exists"])
        expectCleanFailure(try runGrowkit(["make-fixture", "--family", "gpt2", "--zstd", "40", "--out", b + "x"]),
                           mentioning: ["zstd level 40"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a.h5", "b.h5"])
    }

    /// Kills `make-fixture` of a 6.4M-parameter state (77 MB) with SIGKILL while it
    /// writes: the final name never appears. Only the temporary file remains
    /// (nothing can clean up after SIGKILL); no reader would mistake it for the output.
    @Test func sigkillMidWriteLeavesNoFileUnderTheFinalName() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("big.h5")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("growkit")
        process.arguments = ["make-fixture", "--family", "gpt2", "--hidden-size", "256", "--num-layers", "8", "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the temporary file exists and has grown (tensors are being written), then kill.
        var temporary: String?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            if let name = names.first(where: { $0.hasPrefix(".big.h5.tmp-") }),
               let size = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path))?[.size] as? Int,
               size > 1 << 20 {
                temporary = name
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        try #require(temporary != nil, "the writer finished before it could be killed; make the state bigger")
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: out.path), "a half-written file appeared under the final name")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [temporary!])
    }
}
