import ArgumentParser
import Foundation

/// `growkit demo`: the embedded default (``DemoPipeline``), printed as tables (``DemoReport``)
/// or, with `--json`, as one ``DemoResult`` document.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the embedded default: forward pass vs Hugging Face, train, plan, grow and verify, continue next to scratch, plot.",
        discussion: """
            Checks the forward pass against Hugging Face transformers, trains a small Llama-style model on \
            the bundled Jargon File (bytes as tokens, the last 10% held out), asks staged training's slope rule \
            whether to grow, grows it (depth identity:2, width duplicate:2) with the function-preservation check \
            on held-out text, then trains the grown model and a model of the grown size from scratch for the same \
            tokens under the same schedule. Prints a table and writes the checkpoints and two SVG plots \
            (loss against tokens and against FLOPs) to --out. Under five minutes on two cores (release build).
            """)

    @Option(help: "Folder for the demo's checkpoints and plots.")
    var out = "growkit-demo"

    @Option(help: "The repository's fixtures folder (default: ./fixtures, else the one this binary was built from).")
    var fixtures: String?

    @Option(help: "The depth operator, as for growkit grow.")
    var depth = DemoSettings.full.depthOperator

    @Option(help: "The width operator, as for growkit grow (the noise breaks the copies' symmetry and cancels exactly).")
    var width = DemoSettings.full.widthOperator

    @Flag(help: "Print the result as JSON (no progress lines on a pipe).")
    var json = false

    @Flag(help: ArgumentHelp("A tiny model for a few tens of steps (tests).", visibility: .hidden))
    var quick = false

    func run() throws {
        var settings = quick ? DemoSettings.quick : DemoSettings.full
        settings.depthOperator = depth
        settings.widthOperator = width
        let paths = DemoPaths(folder: out, fixtures: try fixturesFolder())
        let progress = DemoProgress(settings: settings, plainLines: !json)
        let result = try DemoPipeline(settings: settings, paths: paths, toolVersion: growkitVersion).run(progress.show)
        progress.finish()
        print(json ? try JSONOutput.string(result, command: "growkit demo") : DemoReport.text(result, settings: settings))
        if let failure = DemoReport.failure(result) { throw DemoError(description: failure) }
    }

    private func fixturesFolder() throws -> String {
        // An explicit folder is used as given; otherwise the working folder's, then the source tree's.
        let candidates = fixtures.map { [$0] } ?? ["fixtures",
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                              .deletingLastPathComponent().appendingPathComponent("fixtures").path]
        for candidate in candidates where FileManager.default.fileExists(atPath: "\(candidate)/hf/gpt2_tied.h5") {
            return candidate
        }
        throw DemoError(description: "cannot find the fixtures folder (looked for hf/gpt2_tied.h5 in \(candidates.joined(separator: ", "))); run from the repository root or pass --fixtures DIR.")
    }
}
