import Foundation
import GrowkitStorage
import GrowkitTestSupport
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// The repository's fixtures/ folder.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures").path

/// Every bad input is refused at open (or at verify, for corruption) with a
/// typed error whose description is one sentence naming the file and the object.
@Suite struct CheckpointBadInputTests {
    /// Copies a fixture into a fresh folder, applies `edit`, returns the folder and the copy's path.
    func brokenCopy(_ fixture: String = "tiny-llama.h5", _ edit: (CheckpointSurgery) throws -> Void) throws -> (ScratchFolder, String) {
        let folder = try ScratchFolder()
        let path = folder.file("broken.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/" + fixture, toPath: path)
        try CheckpointSurgery.edit(path, edit)
        return (folder, path)
    }

    /// Opens `path`, expects a StateError, checks its sentence, returns it.
    @discardableResult
    func expectRefusal(_ path: String, mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) -> StateError? {
        do {
            _ = try CheckpointReader(path: path)
            Issue.record("\(path) was accepted", sourceLocation: sourceLocation)
            return nil
        } catch {
            let text = error.description
            #expect(!text.contains("\n"), "not one line: \(text)", sourceLocation: sourceLocation)
            #expect(text.hasSuffix(".") && text.hasPrefix(path), "\(text)", sourceLocation: sourceLocation)
            for needle in needles {
                #expect(text.contains(needle), "\(text) does not mention \(needle)", sourceLocation: sourceLocation)
            }
            return error
        }
    }

    @Test func fixturesAreValid() throws {
        for name in ["tiny-gpt2.h5", "tiny-llama.h5"] {
            let reader = try CheckpointReader(path: fixtures + "/" + name)
            #expect(reader.trainer.step == RandomState.fixtureStep)
            #expect(reader.config == RandomState.tinyConfig(name.contains("gpt2") ? .gpt2 : .llama))
            try reader.verifyAllChunks()
        }
    }

    @Test func notAnHDF5File() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("text.h5")
        try "not hdf5\n".write(toFile: path, atomically: false, encoding: .utf8)
        let error = expectRefusal(path, mentioning: ["not an HDF5 file"])
        #expect(error == .storage(.notHDF5(file: path)))
        expectRefusal(folder.file("absent.h5"), mentioning: ["not found"])
    }

    @Test func truncatedFile() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("truncated.h5")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/tiny-gpt2.h5"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        expectRefusal(path, mentioning: ["truncated"])
    }

    @Test func wrongFormat() throws {
        let (folder, path) = try brokenCopy { try $0.setString("format", of: "/", "safetensors") }
        defer { folder.remove() }
        #expect(expectRefusal(path, mentioning: ["format", "safetensors"]) == .wrongFormat(file: path, found: "safetensors"))
    }

    @Test func newerFormatVersion() throws {
        let (folder, path) = try brokenCopy { try $0.setInt("format_version", of: "/", 2) }
        defer { folder.remove() }
        #expect(expectRefusal(path, mentioning: ["format_version is 2", "upgrade"]) == .unsupportedFormatVersion(file: path, found: 2))
    }

    @Test func missingGroup() throws {
        let (folder, path) = try brokenCopy { try $0.delete("/schedule") }
        defer { folder.remove() }
        expectRefusal(path, mentioning: ["group /schedule is missing"])
    }

    @Test func missingDataset() throws {
        let (folder, path) = try brokenCopy { try $0.delete("/optimizer/exp_avg_sq/model/norm/weight") }
        defer { folder.remove() }
        expectRefusal(path, mentioning: ["dataset /optimizer/exp_avg_sq/model/norm/weight is missing"])
    }

    @Test func missingAttribute() throws {
        let (folder, path) = try brokenCopy { try $0.deleteAttribute("num_kv_heads", of: "/config") }
        defer { folder.remove() }
        #expect(expectRefusal(path, mentioning: ["num_kv_heads", "/config"])
                == .missingAttribute(file: path, object: "/config", attribute: "num_kv_heads"))
        let (folder2, path2) = try brokenCopy { try $0.deleteAttribute("step", of: "/optimizer/exp_avg/lm_head/weight") }
        defer { folder2.remove() }
        expectRefusal(path2, mentioning: ["step", "/optimizer/exp_avg/lm_head/weight"])
    }

    @Test func attributeOfTheWrongType() throws {
        let (folder, path) = try brokenCopy { try $0.setString("vocab_size", of: "/config", "256") }
        defer { folder.remove() }
        expectRefusal(path, mentioning: ["vocab_size", "integer"])
    }

    @Test func tensorShapeDisagreesWithConfig() throws {
        let (folder, path) = try brokenCopy {
            try $0.replaceWithFloat32("/params/model/layers/0/mlp/up_proj/weight", shape: [64, 31])
        }
        defer { folder.remove() }
        #expect(expectRefusal(path, mentioning: ["/params/model/layers/0/mlp/up_proj/weight", "[64, 31]", "[64, 32]"])
                == .wrongShape(file: path, object: "/params/model/layers/0/mlp/up_proj/weight", found: [64, 31], expected: [64, 32]))
        // The config, not the tensors, is what changed: every tensor then disagrees; the first is named.
        let (folder2, path2) = try brokenCopy { try $0.setInt("intermediate_size", of: "/config", 128) }
        defer { folder2.remove() }
        expectRefusal(path2, mentioning: ["/params/model/layers/0/mlp/gate_proj/weight has shape [64, 32] but the config implies [128, 32]"])
    }

    @Test func absurdDimensionsAreRefusedBeforeAllocation() throws {
        // vocab_size 10^12 would make the embedding 32 * 10^12 floats (128 TB): refused by
        // the /config check before any dataset is looked at.
        let (folder, path) = try brokenCopy { try $0.setInt("vocab_size", of: "/config", 1_000_000_000_000) }
        defer { folder.remove() }
        let error = expectRefusal(path, mentioning: ["vocab_size is 1000000000000", "sane bound"])
        guard case .invalidConfigInFile? = error else { Issue.record("expected an invalid /config, got \(String(describing: error))"); return }
        let (folder2, path2) = try brokenCopy { try $0.setInt("num_layers", of: "/config", -3) }
        defer { folder2.remove() }
        expectRefusal(path2, mentioning: ["num_layers is -3"])
    }

    @Test func extraParameterIsRefused() throws {
        let (folder, path) = try brokenCopy { try $0.replaceWithFloat32("/params/model/layers/0/mlp/up_proj/weight", shape: [64, 32]) }
        defer { folder.remove() }
        _ = try CheckpointReader(path: path)  // same shape, unfiltered float32: accepted
        try CheckpointSurgery.edit(path) { try $0.addFloat32("/params/model/layers/2/mlp/up_proj/weight", shape: [64, 32]) }
        expectRefusal(path, mentioning: ["/params/model/layers/2/mlp/up_proj/weight is not a parameter"])
    }

    @Test func corruptedChunkIsCaughtByVerify() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let path = folder.file("corrupt.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-gpt2.h5", toPath: path)
        let target = "/optimizer/exp_avg/model/layers/1/self_attn/v_proj/weight"
        try corruptFirstChunk(path, dataset: target)
        // Metadata is intact, so opening succeeds; reading the chunk fails its checksum.
        let reader = try CheckpointReader(path: path)
        #expect(throws: StateError.corrupted(file: path, object: target)) { try reader.verifyAllChunks() }
        #expect(throws: StateError.corrupted(file: path, object: target)) {
            _ = try reader.moments(named: "model.layers.1.self_attn.v_proj.weight")
        }
        _ = try reader.parameter(named: "model.layers.1.self_attn.v_proj.weight")  // other datasets still read
    }

    @Test func unknownParameterName() throws {
        let reader = try CheckpointReader(path: fixtures + "/tiny-gpt2.h5")
        #expect(throws: StateError.unknownParameter(file: reader.path, name: "lm_head.weight")) {
            _ = try reader.parameter(named: "lm_head.weight")  // tied: no head
        }
    }
}
