import Foundation
import GrowkitStorage
import GrowkitTestSupport
import Testing
@testable import GrowkitCheckpoint
import GrowkitState

/// Issue 9, items 3 and 4: every number from the file that later arithmetic uses
/// is bounded when the file is opened (no overflow trap later), and declared
/// sizes are checked in total, before anything is allocated.
@Suite struct BoundsTests {
    let bad = CheckpointBadInputTests()

    @Test(arguments: [
        ("/trainer", "seq_len", Int64.max), ("/trainer", "batch_size", Int64.max), ("/trainer", "step", Int64.max),
        ("/trainer", "tokens_seen", Int64.max), ("/trainer", "data_cursor", Int64(1) << 60),
        ("/schedule", "warmup_steps", Int64.max), ("/schedule", "total_steps", Int64(1) << 62),
    ])
    func hugeCountsAreRefusedAtOpen(group: String, attribute: String, value: Int64) throws {
        let (folder, path) = try bad.brokenCopy { try $0.setInt(attribute, of: group, value) }
        defer { folder.remove() }
        bad.expectRefusal(path, mentioning: [group, attribute, "\(value)", "must be between 0 and"])
    }

    /// Found by tools/fuzz.py: a 60 KB (or 1 MB) string attribute was echoed whole into the error.
    @Test func hugeStringAttributeIsRefusedInOneShortLine() throws {
        let (folder, path) = try bad.brokenCopy { try $0.setString("norm", of: "/config", String(repeating: "y", count: 60_000)) }
        defer { folder.remove() }
        let error = bad.expectRefusal(path, mentioning: ["attribute norm of /config", "string of 60000 bytes"])
        #expect((error?.description.count ?? 0) < 500)
    }

    /// rewarm_start + rewarm_steps overflowed in `inspect`'s summary.
    @Test func rewarmSegmentThatOverflowsIsRefused() throws {
        let (folder, path) = try bad.brokenCopy {
            try $0.setInt("rewarm_start", of: "/schedule", 1 << 62)
            try $0.setInt("rewarm_steps", of: "/schedule", (1 << 62) + 1)
        }
        defer { folder.remove() }
        bad.expectRefusal(path, mentioning: ["/schedule", "rewarm_start", "4611686018427387904"])
    }

    @Test func historyColumnNeverWrittenIsRefused() throws {
        let (folder, path) = try bad.brokenCopy { surgery in
            try surgery.replaceWithEmpty("/history/step", shape: [4])
        }
        defer { folder.remove() }
        // Never written: declares 4 entries, stores none of their bytes.
        bad.expectRefusal(path, mentioning: ["/history/step", "declares 4 entries but stores only part of them"])
    }

    /// A small file declaring 16M never-written history entries per column: refused
    /// from its metadata, before 512 MB of fill values are read.
    @Test func sparseHistoryIsRefusedWithoutReadingIt() throws {
        let n = CheckpointLayout.maxLogEntries
        let (folder, path) = try bad.brokenCopy { surgery in
            for column in ["step", "loss", "lr", "tokens"] { try surgery.replaceWithEmpty("/history/\(column)", shape: [n]) }
        }
        defer { folder.remove() }
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size < 1 << 20)
        bad.expectRefusal(path, mentioning: ["/history/step", "declares \(n) entries"])
    }

    /// Found by tools/fuzz.py: a million never-written provenance records took
    /// `plan --from` past its 20 s timeout (one heap lookup per empty string).
    @Test func sparseProvenanceIsRefusedWithoutReadingIt() throws {
        let (folder, path) = try bad.brokenCopy { try $0.replaceWithEmpty("/provenance/records", shape: [1 << 20]) }
        defer { folder.remove() }
        bad.expectRefusal(path, mentioning: ["/provenance/records", "declares 1048576 records but stores only part of them"])
    }

    @Test func historyLongerThanTheBoundIsRefused() throws {
        let n = CheckpointLayout.maxLogEntries + 1
        let (folder, path) = try bad.brokenCopy { surgery in
            for column in ["step", "loss", "lr", "tokens"] { try surgery.replaceWithEmpty("/history/\(column)", shape: [n]) }
        }
        defer { folder.remove() }
        bad.expectRefusal(path, mentioning: ["/history/step", "above the sane bound"])
    }

    /// A model the config allows but no machine holds: metadata opens, reading
    /// every parameter is refused with the size it needs.
    @Test func sparseGiantModelIsRefusedBeforeAllocating() throws {
        let (folder, path) = try sparseGiantCopy()
        defer { folder.remove() }
        let reader = try CheckpointReader(path: path)
        #expect(reader.config.parameterCount > 1 << 38)
        do {
            _ = try reader.parameters()
            Issue.record("a model of \(reader.config.parameterCount) parameters was read")
        } catch {
            guard case .insufficientMemory(let file, _, let needed, let available) = error else {
                Issue.record("expected .insufficientMemory, got \(error)"); return
            }
            #expect(file == path && needed == reader.parameterBytes && available < needed)
            #expect(error.description.contains("needs \(SystemMemory.describe(needed)) of memory"))
        }
        #expect(throws: StateError.self) { _ = try reader.readAll() }
        // One tensor alone (2^33 floats, 32 GB) is refused too, before allocation.
        let big = try #require(reader.tensors.first { $0.path.hasSuffix("mlp/up_proj/weight") })
        #expect(throws: StateError.self) { _ = try reader.tensor(at: big) }
    }

    /// tiny-llama with a /config of 32 layers, hidden 8192, intermediate 2^20, every
    /// tensor never written (the file stays small): about 8.6e11 parameters.
    func sparseGiantCopy() throws -> (ScratchFolder, String) {
        var config = RandomState.tinyConfig(.llama)
        config.hiddenSize = 8192; config.numLayers = 32; config.numHeads = 64; config.numKVHeads = 8
        config.headDim = 128; config.intermediateSize = 1 << 20
        let folder = try ScratchFolder()
        let path = folder.file("giant.h5")
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-llama.h5", toPath: path)
        try CheckpointSurgery.edit(path) { surgery in
            for (name, value) in [("hidden_size", 8192), ("num_layers", 32), ("num_heads", 64), ("num_kv_heads", 8),
                                  ("head_dim", 128), ("intermediate_size", 1 << 20)] {
                try surgery.setInt(name, of: "/config", Int64(value))
            }
            for root in ["/params", "/optimizer/exp_avg", "/optimizer/exp_avg_sq"] {
                try surgery.delete(root + "/model")
                if root == "/params" { try surgery.delete("/params/lm_head") } else { try surgery.delete(root + "/lm_head") }
            }
            for spec in config.parameters() {
                for root in ["/params/", "/optimizer/exp_avg/", "/optimizer/exp_avg_sq/"] {
                    try surgery.addFloat32(root + spec.storagePath, shape: spec.shape)
                }
                try surgery.setInt("step", of: "/optimizer/exp_avg/" + spec.storagePath, 0)
                try surgery.setInt("apply_weight_decay", of: "/optimizer/exp_avg/" + spec.storagePath, 0)
            }
        }
        return (folder, path)
    }
}
