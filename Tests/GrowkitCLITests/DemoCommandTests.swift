import Foundation
import Testing

@Suite struct DemoCommandTests {
    /// The embedded default runs from any folder given the fixtures, every
    /// Hugging Face case passes, and a freshly initialised model (weights
    /// N(0, 0.02^2), so logits within a few hundredths of zero) scores close to
    /// the uniform loss ln 256 = 5.545 on held-out text: within 0.25 nats.
    @Test func demoRunsAndReportsHonestFigures() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGrowkit(["demo", "--fixtures", fixturesFolder.path, "--out", folder.appendingPathComponent("out").path],
                                 currentDirectory: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map(String.init)
        for name in ["gpt2_tied", "llama_gqa", "llama_mqa", "llama_head_dim"] {
            let row = try #require(rows.first { $0.hasPrefix("  \(name) ") }, "no row for \(name):\n\(run.stdout)")
            #expect(row.hasSuffix("pass"), "\(row)")
        }
        let lossRow = try #require(rows.first { $0.hasPrefix("  8 x 8 x 128") }, "\(run.stdout)")
        let loss = try #require(Double(lossRow.split(separator: " ", omittingEmptySubsequences: true)[6]))
        #expect(abs(loss - log(256.0)) < 0.25, "fresh-model loss \(loss)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/demo-llama.h5").path))
    }

    @Test func demoWithoutFixturesFailsCleanly() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGrowkit(["demo", "--fixtures", folder.path, "--out", folder.path], currentDirectory: folder)
        expectCleanFailure(run, mentioning: ["fixtures"])
    }
}
