import ArgumentParser
import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitVerify

/// `growkit diff A B`: tensor by tensor (parameters and Adam moments) and field by field.
/// Thin: opens both files, calls ``StateDiff/compare(_:_:progress:)`` (GrowkitVerify), prints.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two training states tensor by tensor (weights, Adam moments) and field by field.",
        discussion: """
            For every parameter and its exp_avg and exp_avg_sq: present in one state only, shape \
            changed, or for equal shapes max |a-b|, the relative RMS difference ||a-b|| / ||a|| and \
            whether the two are bit-identical; then every differing config, optimizer, schedule, \
            trainer, history and provenance field and per-parameter Adam step. Streams: one tensor \
            of each file in memory at a time. Exit status 0 whether or not the states differ \
            (the JSON's "identical" says). Details: docs/VERIFY.md.
            """)

    @Argument(help: "First state (growkit format v1).")
    var a: String

    @Argument(help: "Second state (growkit format v1).")
    var b: String

    @Flag(help: "List bit-identical tensors too (by default only those that differ).")
    var all = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        // Growkit states (full or weights-only), Hugging Face folders or .safetensors files.
        let readerA = try StateSource(path: a)
        let readerB = try StateSource(path: b)
        let progress = TerminalProgress(plainLines: true)
        let diff = try StateDiff.compare(readerA, readerB) { step in
            progress.update("diff: tensor \(step.index)/\(step.count) \(step.parameter)",
                            fraction: Double(step.index) / Double(max(step.count, 1)))
        }
        progress.finish()
        if json {
            print(try JSONOutput.string(DiffReport(a: a, b: b, diff: diff)))
        } else {
            print(DiffTable.text(a: a, b: b, configA: readerA.config, configB: readerB.config, diff: diff, all: all))
        }
    }
}

/// The `--json` record.
struct DiffReport: Encodable {
    var a: String
    var b: String
    var diff: StateDiff

    enum CodingKeys: String, CodingKey { case a, b, summary }

    func encode(to encoder: Encoder) throws {
        try diff.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(a, forKey: .a)
        try c.encode(b, forKey: .b)
        try c.encode(diff.summary, forKey: .summary)
    }
}

/// The readable table: one row per tensor that differs (every tensor with `--all`), the
/// differing fields, and a summary line.
enum DiffTable {
    static func text(a: String, b: String, configA: ModelConfig, configB: ModelConfig, diff: StateDiff, all: Bool) -> String {
        func describe(_ c: ModelConfig) -> String {
            "\(c.family.rawValue), \(c.numLayers) layers, hidden \(c.hiddenSize), \(c.parameterCount) parameters"
        }
        var lines = ["A  \(a) (\(describe(configA)))", "B  \(b) (\(describe(configB)))", ""]
        let rows = diff.tensors.filter { all || $0.status != .identical }
        if rows.isEmpty {
            lines.append("all \(diff.tensors.count) tensors (parameters, exp_avg, exp_avg_sq) are bit-identical")
        } else {
            let width = max(6, rows.map { $0.parameter.count }.max() ?? 0)
            lines.append(pad("tensor", width) + "  " + pad("role", 10) + "  " + pad("status", 13) + "  "
                         + pad("shape", 20) + "  " + pad("max |a-b|", 10) + "  rel RMS")
            for row in rows {
                let shape: String
                switch row.status {
                case .shapeChanged: shape = "\(row.shapeA ?? []) -> \(row.shapeB ?? [])"
                default: shape = "\(row.shapeA ?? row.shapeB ?? [])"
                }
                var line = pad(row.parameter, width) + "  " + pad(row.role.rawValue, 10) + "  "
                    + pad(label(row.status), 13) + "  " + pad(shape, 20)
                if let d = row.difference {
                    line += "  " + pad(String(format: "%.3e", d.maxAbsDifference), 10)
                        + "  " + String(format: "%.3e", d.relativeRMSDifference)
                    if d.nonFiniteDifferences > 0 { line += "  (\(d.nonFiniteDifferences) non-finite)" }
                }
                lines.append(line)
            }
        }
        if !diff.fields.isEmpty {
            lines.append("")
            let labels = diff.fields.map { "\($0.section) \($0.field)" }
            let width = labels.map(\.count).max() ?? 0
            for (label, field) in zip(labels, diff.fields) {
                lines.append(pad(label, width) + "  \(field.a ?? "(none)") -> \(field.b ?? "(none)")")
            }
        }
        lines.append("")
        lines.append("summary: \(diff.summary)")
        return lines.joined(separator: "\n")
    }

    static func label(_ status: TensorDiffEntry.Status) -> String {
        switch status {
        case .identical: "identical"
        case .changed: "changed"
        case .shapeChanged: "shape changed"
        case .onlyInA: "only in A"
        case .onlyInB: "only in B"
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
