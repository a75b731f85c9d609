import ArgumentParser
import Foundation
import GrowkitCheckpoint
import GrowkitPlot
import GrowkitState

/// `growkit plot A.h5 B.h5 ... --out curves.svg`: loss curves from the checkpoints'
/// `/history`, growth points from their provenance, as one SVG. Thin: reads each
/// file's metadata (no tensor), calls ``LossPlot/render(_:options:)`` (GrowkitPlot),
/// writes the SVG atomically (temporary file in the destination folder, fsync, rename).
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot the loss curves of training states (from /history) as SVG, growth points marked.",
        discussion: """
            One curve per checkpoint, coloured from the Okabe-Ito palette, legend entries from the \
            file names or --label. Every provenance record with operator "grow" is marked by a dashed \
            line and a ring at the last history entry before the growth (found from a plotted source \
            checkpoint, the history's step going back, or else the last entry: docs/PLOT.md). \
            Reads metadata only, so large checkpoints plot in well under a second.
            """)

    @Argument(help: "Checkpoints (growkit format v1) with a /history.")
    var checkpoints: [String] = []

    @Option(help: "Output SVG path (replaced atomically if it exists).")
    var out: String

    @Option(help: "Horizontal axis: tokens, flops (6 x parameters x tokens) or steps.")
    var x: XQuantity = .tokens

    @Flag(help: "Loss axis scale (default: --log-y).")
    var yScale: YScaleFlag = .logY

    @Flag(help: "Logarithmic horizontal axis.")
    var logX = false

    @Option(help: "Title of the plot.")
    var title: String = "Training loss"

    @Option(name: .customLong("label"), help: "Legend label of a checkpoint, in order (repeat once per checkpoint; default: the file names).")
    var labels: [String] = []

    @Flag(help: "Plot the validation loss too (not in format v1 yet: an error today).")
    var validation = false

    func validate() throws {
        if !labels.isEmpty && labels.count != checkpoints.count {
            throw PlotCommandError.labelCount(labels: labels.count, checkpoints: checkpoints.count)
        }
    }

    func run() throws {
        guard !checkpoints.isEmpty else { throw PlotError.noRuns }
        try PlotOutput.checkDestination(out)
        if validation { throw PlotCommandError.noValidationHistory(checkpoints[0]) }
        var runs: [PlotRun] = []
        for (i, path) in checkpoints.enumerated() {
            let reader = try CheckpointReader(path: path)
            if reader.history.count == 0 { throw PlotError.emptyHistory(path) }
            let name = URL(fileURLWithPath: path).lastPathComponent
            runs.append(PlotRun(label: labels.isEmpty ? name : labels[i], fileName: name, history: reader.history,
                                provenance: reader.provenance, config: reader.config))
        }
        let options = PlotOptions(x: x, xScale: logX ? .log : .linear, yScale: yScale == .logY ? .log : .linear, title: title)
        let plot = try LossPlot.render(runs, options: options)
        try PlotOutput.write(plot.svg, to: out)
        for (i, run) in runs.enumerated() {
            let marks = plot.growths[i].map { point in
                let tokens = run.history.tokens[point.historyIndex]
                return "\(point.label) after entry \(point.historyIndex + 1) (\(tokens) tokens; \(point.method.summary))"
            }
            print("\(run.fileName): \(plot.points[i]) points" + (marks.isEmpty ? "" : "; " + marks.joined(separator: "; ")))
        }
        print("wrote \(out)")
    }
}

/// `--log-y` (default) or `--linear-y`: one flag of two, argument parser refuses both.
enum YScaleFlag: String, EnumerableFlag {
    case logY, linearY

    static func help(for value: YScaleFlag) -> ArgumentHelp? {
        value == .logY ? "Logarithmic loss axis." : "Linear loss axis."
    }
}

extension XQuantity: ExpressibleByArgument {}

extension GrowthPoint.Method {
    /// How the CLI names the way a growth was placed.
    var summary: String {
        switch self {
        case .recorded: return "placed from its growth record"
        case .source: return "placed from its plotted source"
        case .stepReset: return "placed where the step goes back"
        case .lastEntry: return "placed at the last entry"
        }
    }
}

/// Bad arguments of `plot`, one sentence each.
enum PlotCommandError: Error, CustomStringConvertible {
    case labelCount(labels: Int, checkpoints: Int)
    case noValidationHistory(String)
    case outputIsFolder(String)
    case outputFolderMissing(String)
    case writeFailed(String, String)

    var description: String {
        switch self {
        case .labelCount(let labels, let checkpoints):
            return "--label was given \(labels) time(s) for \(checkpoints) checkpoint(s); give one --label per checkpoint, in order, or none."
        case .noValidationHistory(let file):
            return "\(file) carries no validation history (format v1's /history holds step, loss, lr and tokens only; the trainer work will add a validation series); plot without --validation."
        case .outputIsFolder(let path):
            return "--out \(path) is a folder; give a file path such as \(path)/curves.svg."
        case .outputFolderMissing(let path):
            return "--out \(path): its folder does not exist; create it first or write elsewhere."
        case .writeFailed(let path, let why):
            return "\(path): could not write the SVG (\(why)); nothing was written under that name."
        }
    }
}
