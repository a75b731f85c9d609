import ArgumentParser
import Foundation
import GrowkitTraining

/// `growkit demo`: the embedded default (see ``Demo``), printed as tables.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the embedded default: forward pass vs Hugging Face, checkpoint round trip, corpus loss, growth plan.")

    @Option(help: "Folder for the demo's outputs.")
    var out = "growkit-demo"

    @Option(help: "The repository's fixtures folder (default: ./fixtures, else the one this binary was built from).")
    var fixtures: String?

    func run() throws {
        let settings = Demo.Settings(outputFolder: out, fixturesFolder: try fixturesFolder(), toolVersion: growkitVersion)
        let progress = TerminalProgress(plainLines: false)
        let report = try Demo(settings: settings).run { stage in
            switch stage {
            case .reference(let name): progress.update("forward pass vs transformers: \(name)", fraction: 0)
            case .writing(let path): progress.update("writing \(path)", fraction: 0)
            case .verifying(let path): progress.update("verifying every chunk of \(path)", fraction: 0)
            case .evaluating(let p): progress.update(p)
            }
        }
        progress.finish()
        print(DemoText.report(report, settings: settings))
        if !report.referencesPass {
            throw DemoError(description: "the forward pass disagrees with Hugging Face transformers beyond float32 tolerance; see the table above.")
        }
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

/// A demo failure, printed by the argument parser as one line.
struct DemoError: Error, CustomStringConvertible {
    var description: String
}

/// The demo's text report: one table per stage.
enum DemoText {
    static func report(_ r: Demo.Report, settings: Demo.Settings) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        func f(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }
        func e(_ x: Double) -> String { String(format: "%.1e", x) }

        let versions = r.references.first.map { "torch \($0.torchVersion), transformers \($0.transformersVersion)" } ?? ""
        line("1. Forward pass vs Hugging Face transformers (\(versions); pass: max |dlogit| <= 1e-4, |dloss| <= 1e-5 relative)")
        line(table(["case", "family", "loss (growkit)", "loss (transformers)", "|dloss|", "max |dlogit|", "result"],
                   r.references.map { [$0.name, $0.family, f($0.loss, 6), f($0.referenceLoss, 6), e($0.lossDifference),
                                       e($0.maxLogitDifference), $0.passes ? "pass" : "FAIL"] }))
        let c = r.checkpoint
        line("2. Training state round trip (format v1, zstd level 3, fletcher32 on every chunk)")
        line(table(["checkpoint", "parameters", "params + moments", "file", "write", "verify"],
                   [[c.path, "\(c.parameters)", megabytes(c.tensorBytes), megabytes(c.fileBytes),
                     "\(f(c.writeSeconds, 2)) s", "\(f(c.verifySeconds, 2)) s, all chunks OK"]]))
        let ev = r.evaluation, s = ev.settings
        line("3. Loss of the fresh model on held-out text (last 10% of The Jargon File 4.4.7, bytes as tokens)")
        line(table(["batches", "tokens", "loss", "perplexity", "uniform ln 256", "tokens/s"],
                   [["\(s.batches) x \(s.batchSize) x \(s.seqLen)", "\(ev.tokens)", f(ev.meanLoss), f(ev.perplexity, 2),
                     f(r.uniformLoss), "\(Int(ev.tokensPerSecond.rounded()))"]]))
        let st = r.stacking, sg = r.staged
        line("4. When to grow")
        line(table(["rule", "model", "grow after", "then"], [
            ["G_stack timing (Du et al. 2024)", "7B target, 2T tokens", "\(e(st.growTokens)) tokens at \(e(st.smallParameters)) parameters",
             "stack x\(Int(st.growthFactor))"],
            ["staged training slope (Shen et al. 2022)", "this demo model, \(settings.evaluation.batchSize * settings.evaluation.seqLen) tokens/step",
             "step \(Int(sg.growStep.rounded()))", "grow depth, resume at step \(Int(sg.resumeStep.rounded()))"],
        ]))
        line("Growth operators, training and the loss-curve plot arrive with the trainer and operator issues.")
        return out
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.2f MB", Double(bytes) / 1e6) }

    /// A plain-text table: header, rule, rows; columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func render(_ cells: [String]) -> String {
            let padded = "  " + zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            return String(padded.reversed().drop(while: { $0 == " " }).reversed())
        }
        return ([render(header), "  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
                + rows.map(render)).joined(separator: "\n") + "\n"
    }
}
