import Foundation
import GrowkitCheckpoint
import GrowkitData
import GrowkitState
import GrowkitVerify

/// `growkit verify --steps N SMALL GROWN --data FILE [--scratch] [--out-dir DIR]`: loads, calls
/// ``TrainingDynamics``, writes the final states only with `--out-dir`, prints.
extension VerifyCommand {
    func runSteps(_ steps: Int) throws {
        let smallReader = try StateSource(path: small)
        let grownReader = try StateSource(path: grown)
        let names = ModelNames(source: small, grown: grown)
        // Cheap checks (family, vocabulary, provenance) before any tensor or data is read.
        try TrainingDynamics.checkDerived(source: smallReader.config, grown: grownReader.config,
                                          provenance: grownReader.provenance, names: names)
        if let outDir {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: outDir, isDirectory: &isFolder), isFolder.boolValue else {
                throw VerifyError.invalidDynamics(problem: "--out-dir \(outDir) is not an existing folder; create it first")
            }
        }
        let path = tokens.data!
        let data = try TokenSource(path: path, format: tokens.format.map { name throws(DataError) in try TokenFileFormat(name: name) })
        let settings = TrainingDynamicsSettings(steps: steps, batchSize: tokens.batchSize, seqLen: tokens.seqLen, scratch: scratch,
                                                scratchSeed: tokens.seed, keepStates: outDir != nil)
        let progress = TerminalProgress(plainLines: false)
        let runs = scratch ? 3 : 2
        let outcome = try TrainingDynamics.run(source: try smallReader.readAll(), grown: try grownReader.readAll(), data: data,
                                               settings: settings, names: names) { p in
            let index = DynamicsRunKind.allCases.firstIndex(of: p.run)!
            progress.update(String(format: "verify %@ step %d/%d  loss %.4f", p.run.rawValue, p.step, p.steps, p.loss),
                            fraction: (Double(index) + Double(p.step) / Double(p.steps)) / Double(runs))
        }
        progress.finish()
        var written: [String] = []
        if let outDir {
            for kind in DynamicsRunKind.allCases {
                guard let state = outcome.states[kind] else { continue }
                let file = URL(fileURLWithPath: outDir).appendingPathComponent("\(kind.rawValue).h5").path
                try CheckpointWriter.write(state, to: file)
                written.append(file)
            }
        }
        let report = StepsReport(small: small, grown: grown, data: path, format: data.format.description, dataTokens: data.count,
                                 written: written, result: outcome.result)
        print(json ? try JSONOutput.string(report) : report.text())
    }
}

/// The `--steps --json` record, and the text table.
struct StepsReport: Encodable {
    var small: String
    var grown: String
    var data: String
    var format: String
    var dataTokens: Int
    var written: [String]
    var result: TrainingDynamicsResult

    enum CodingKeys: String, CodingKey { case small, grown, data, format, dataTokens = "data_tokens", written, result }

    func text() -> String {
        let r = result
        var lines = [
            "small    \(small) (\(r.source.parameters) parameters)",
            "grown    \(grown) (\(r.grown.parameters) parameters)",
            "data     \(data) (\(format), \(dataTokens) tokens), from cursor \(r.dataCursor), \(r.batchSize) x \(r.seqLen) tokens per step",
        ]
        var header = "step        small        grown"
        if r.scratch != nil { header += "      scratch" }
        lines.append(header)
        for k in 0..<r.grown.losses.count {
            var line = String(format: "%4d  %11.4f  %11.4f", k + 1, r.source.losses[k], r.grown.losses[k])
            if let scratch = r.scratch { line += String(format: "  %11.4f", scratch.losses[k]) }
            lines.append(line)
        }
        let history = r.historyLoss.map { String(format: "; its last history entry %.4f", $0) } ?? ""
        lines.append(String(format: "at growth  loss %.4f (SMALL on the first batch%@)", r.lossAtGrowth, history))
        lines.append(String(format: "after      loss %.4f (GROWN's first step)", r.lossAfterGrowth))
        lines.append(String(format: "spike      %@: worst grown - small %+.4f at step %d, margin %.4f = max(0.05, 2%% of the loss), first %d steps",
                            r.spiked ? "YES" : "no", r.worstExcess, r.worstExcessStep + 1, r.margin, r.spikeWindow))
        lines.append(String(format: "stall      %@: the grown run's loss %.4f -> %.4f", r.stalled ? "YES (no decrease)" : "no",
                            r.grown.firstLoss, r.grown.lastLoss))
        if let scratch = r.scratch {
            if let k = r.grownReachesScratchAt {
                lines.append(String(format: "scratch    final loss %.4f after %d tokens; the grown run reaches it at step %d (%d tokens)",
                                    scratch.lastLoss, scratch.tokens.last ?? 0, k, r.grown.tokens[k - 1]))
            } else {
                lines.append(String(format: "scratch    final loss %.4f after %d tokens; the grown run does not reach it",
                                    scratch.lastLoss, scratch.tokens.last ?? 0))
            }
        }
        for file in written { lines.append("wrote    \(file)") }
        return lines.joined(separator: "\n")
    }
}
