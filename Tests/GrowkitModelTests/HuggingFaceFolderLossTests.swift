import Foundation
import GrowkitCheckpoint
import GrowkitTraining
import Testing

/// fixtures/hf-folders (written by transformers' save_pretrained, tools/make_hf_folder_fixture.py).
let hfFolderFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/hf-folders").path

@Suite("A model converted from a Hugging Face folder has the loss transformers computed")
struct HuggingFaceFolderLossTests {
    @Test func convertedGPT2FolderMatchesTheTransformersLoss() throws {
        let folder = NSTemporaryDirectory() + "growkit-hf-loss-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let converted = folder + "/gpt2_tied.h5"
        try HuggingFaceConversion.toCheckpoint(input: hfFolderFixtures + "/gpt2_tied", output: converted, toolVersion: "test")
        var reference = ReferenceCase(folder: hfFixtures, name: "gpt2_tied")
        let direct = try reference.compare()
        reference.checkpointPath = converted
        let comparison = try reference.compare()
        #expect(comparison.maxLogitDifference <= 1e-4, "max |dlogit| = \(comparison.maxLogitDifference)")
        #expect(abs(comparison.loss - comparison.referenceLoss) <= 1e-5 * max(1, comparison.referenceLoss))
        // Same bits in, same loss out as the h5py-written state.
        #expect(comparison.loss == direct.loss && comparison.maxLogitDifference == direct.maxLogitDifference)
    }
}
