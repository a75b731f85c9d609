import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit diff` end to end on states built by hand from the fixtures.
@Suite struct DiffCommandTests {
    static func entries(_ json: [String: Any]) throws -> [[String: Any]] {
        try #require(json["tensors"] as? [[String: Any]])
    }

    static func fields(_ json: [String: Any]) throws -> [[String: String?]] {
        try #require(json["fields"] as? [[String: Any]]).map { field in
            Dictionary(uniqueKeysWithValues: ["section", "field", "a", "b"].map { ($0, field[$0] as? String) })
        }
    }

    @Test func identicalFilesAreAllBitIdentical() throws {
        let a = VerifyTestStates.fixture(.gpt2)
        let json = try verifyJSON(try runGrowkit(["diff", a, a, "--json"]))
        #expect(json["identical"] as? Bool == true)
        let entries = try Self.entries(json)
        // 36 parameters, each with exp_avg and exp_avg_sq.
        #expect(entries.count == 108)
        #expect(entries.allSatisfy { $0["status"] as? String == "identical" })
        #expect(entries.allSatisfy { ($0["difference"] as? [String: Any])?["bit_identical"] as? Bool == true })
        #expect((json["counts"] as? [String: Int])?["identical"] == 108)
        let text = try runGrowkit(["diff", a, a])
        #expect(text.status == 0)
        #expect(text.stdout.contains("all 108 tensors (parameters, exp_avg, exp_avg_sq) are bit-identical"))
        #expect(text.stdout.contains("summary: 108 identical, 0 changed, 0 shape changed, 0 only in A, 0 only in B; 0 metadata fields differ"))
    }

    /// A: model.norm.weight all 1 (32 entries); B: entry 3 = 1.5, entry 7 = 0.75. By hand:
    /// max |a-b| = 0.5, ||a-b|| / ||a|| = sqrt(0.25 + 0.0625) / sqrt(32) = sqrt(0.3125 / 32).
    @Test func oneChangedTensorIsReportedWithItsFigures() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var state = try VerifyTestStates.load(.llama)
        let name = "model.norm.weight"
        state.parameters[name] = Tensor(shape: [32], data: [Float](repeating: 1, count: 32))
        let a = try VerifyTestStates.write(state, "a.h5", in: folder)
        state.parameters[name]!.data[3] = 1.5
        state.parameters[name]!.data[7] = 0.75
        let b = try VerifyTestStates.write(state, "b.h5", in: folder)

        let json = try verifyJSON(try runGrowkit(["diff", a, b, "--json"]))
        let changed = try Self.entries(json).filter { $0["status"] as? String != "identical" }
        try #require(changed.count == 1)
        #expect(changed[0]["parameter"] as? String == name && changed[0]["role"] as? String == "parameter")
        #expect(changed[0]["status"] as? String == "changed")
        let difference = try #require(changed[0]["difference"] as? [String: Any])
        #expect(difference["max_abs_diff"] as? Double == 0.5)
        #expect(abs(try #require(difference["relative_rms_diff"] as? Double) - (0.3125 / 32).squareRoot()) < 1e-12)
        #expect(difference["bit_identical"] as? Bool == false && difference["differing_elements"] as? Int == 2)
        #expect(json["identical"] as? Bool == false)
        #expect(try Self.fields(json).isEmpty)

        let text = try runGrowkit(["diff", a, b])
        let rows = text.stdout.split(separator: "\n").filter { $0.hasPrefix("model.") || $0.hasPrefix("lm_head") }
        #expect(rows.count == 1)
        #expect(rows.first?.contains("changed") == true && rows.first?.contains("5.000e-01") == true)
        #expect(text.stdout.contains("summary: 62 identical, 1 changed, 0 shape changed, 0 only in A, 0 only in B"))
    }

    @Test func grownFileListsTheNewLayerAsOnlyInB() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = VerifyTestStates.fixture(.gpt2)
        let b = try VerifyTestStates.write(VerifyTestStates.appendingIdentityLayer(try VerifyTestStates.load(.gpt2)), "grown.h5", in: folder)
        let json = try verifyJSON(try runGrowkit(["diff", a, b, "--json"]))
        let entries = try Self.entries(json)
        let onlyInB = entries.filter { $0["status"] as? String == "only_in_b" }
        // gpt2 block: 2 norms x 2 + 4 attention projections x 2 + 2 MLP projections x 2 = 16 tensors, x 3 roles.
        #expect(onlyInB.count == 48)
        #expect(onlyInB.allSatisfy { ($0["parameter"] as? String)?.hasPrefix("model.layers.2.") == true })
        #expect(entries.filter { $0["status"] as? String != "only_in_b" }.allSatisfy { $0["status"] as? String == "identical" })
        let fields = try Self.fields(json)
        #expect(fields.contains(["section": "config", "field": "num_layers", "a": "2", "b": "3"]))
        #expect(fields.contains(["section": "provenance", "field": "length", "a": "1", "b": "2"]))
        let text = try runGrowkit(["diff", a, b])
        #expect(text.stdout.contains("summary: 108 identical, 0 changed, 0 shape changed, 0 only in A, 48 only in B"))
        #expect(text.stdout.contains("model.layers.2.self_attn.o_proj.weight"))
    }

    @Test func stepChangesAreVisible() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var state = try VerifyTestStates.load(.llama)
        state.trainer.step = 41
        state.optimizerState["model.norm.weight"]!.step = 41
        let b = try VerifyTestStates.write(state, "stepped.h5", in: folder)
        let a = VerifyTestStates.fixture(.llama)
        let json = try verifyJSON(try runGrowkit(["diff", a, b, "--json"]))
        let fields = try Self.fields(json)
        #expect(fields.contains(["section": "trainer", "field": "step", "a": "40", "b": "41"]))
        #expect(fields.contains(["section": "adam", "field": "model.norm.weight step", "a": "40", "b": "41"]))
        #expect(fields.count == 2)
        #expect(try Self.entries(json).allSatisfy { $0["status"] as? String == "identical" })
        let text = try runGrowkit(["diff", a, b])
        #expect(text.stdout.contains("trainer step") && text.stdout.contains("40 -> 41"))
        #expect(text.stdout.contains("2 metadata fields differ"))
    }

    @Test func missingFileFailsCleanly() throws {
        expectCleanFailure(try runGrowkit(["diff", VerifyTestStates.fixture(.gpt2), "/nonexistent/b.h5"]), mentioning: ["/nonexistent/b.h5"])
    }
}
