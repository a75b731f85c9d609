import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitVerify

/// `growkit verify --gradients SMALL GROWN`: loads, calls ``GradientConsistency``, prints.
extension VerifyCommand {
    func runGradients() throws {
        let smallReader = try StateSource(path: small)
        let grownReader = try StateSource(path: grown)
        let names = ModelNames(source: small, grown: grown)
        let seqLen = tokens.seqLen ?? FunctionPreservation.defaultSeqLen(smallReader.config, grownReader.config)
        try FunctionPreservation.checkCompatibility(source: smallReader.config, grown: grownReader.config, seqLen: seqLen, names: names)
        let (plan, optimizer, growth) = try GradientConsistency.replayedPlan(
            source: smallReader.config, grown: grownReader.config, provenance: grownReader.provenance, names: names)
        let (batches, input) = try loadBatches(vocabSize: smallReader.config.vocabSize, seqLen: seqLen)
        var notes: [String] = []
        if let expected = grownReader.provenance.last?.sourceSHA256, try smallReader.checksum() != expected {
            notes.append("the SHA-256 of \(small) differs from source_sha256 in \(grown)'s growth record: it may not be the state \(grown) was grown from")
        }
        let source = try FunctionPreservation.weights(smallReader.config, smallReader.parameters(), small)
        let grownWeights = try FunctionPreservation.weights(grownReader.config, grownReader.parameters(), grown)
        // A weights-only side (or a Hugging Face model) has no moments: gradients only, and the report says so.
        let checkMoments = !smallReader.isWeightsOnly && !grownReader.isWeightsOnly
        func moments(_ source: StateSource) -> (String) throws(VerifyError) -> AdamParameterState {
            { name throws(VerifyError) in
                guard case .checkpoint(let reader) = source else {
                    throw .unreadable(message: StateError.weightsOnly(file: source.path, asked: "Adam moments of \(name)").description)
                }
                do throws(StateError) { return try reader.moments(named: name) } catch { throw .unreadable(message: error.description) }
            }
        }
        let progress = TerminalProgress(plainLines: false)
        let result = try GradientConsistency.check(
            plan: plan, optimizer: optimizer, claimedExact: growth.exact, source: source, grown: grownWeights,
            sourceMoments: moments(smallReader), grownMoments: moments(grownReader), checkMoments: checkMoments, batches: batches,
            tolerance: GradientTolerance(gradient: gradientRtol.value), perTensor: all, names: names
        ) { step in
            progress.update("verify --gradients: \(step.phase) (\(step.done)/\(step.total) tensors)",
                            fraction: Double(step.done) / Double(max(step.total, 1)))
        }
        progress.finish()
        let report = GradientsReport(small: small, grown: grown, input: input, operators: growth.operators, notes: notes,
                                     result: result)
        print(json ? try JSONOutput.string(report) : report.text())
        if !result.passed {
            throw VerifyError.gradientsInconsistent(grown: grown, summary: result.failureSummary ?? "a check misses its tolerance")
        }
    }
}

/// The `--gradients --json` record, and the text table.
struct GradientsReport: Encodable {
    var small: String
    var grown: String
    var input: VerifyInput
    var operators: [String]
    var notes: [String]
    var result: GradientConsistencyResult

    func text() -> String {
        let r = result
        var lines = [
            "small    \(small)",
            "grown    \(grown)",
            "growth   \(operators.joined(separator: " ")): \(r.claimedExact ? "claims" : "does not claim") exactness; optimizer \(r.optimizer)"
                + (r.symmetryBreakingNoise ? "; symmetry-breaking noise (gradients approximate by design)" : ""),
        ]
        let source = input.data.map { "random windows of \($0)" } ?? "seeded random token ids"
        lines.append("tokens   \(r.batches) batches, \(r.tokens) tokens: \(source), seed \(input.seed)")
        lines.append(String(format: "loss     small %.6f  grown %.6f", r.sourceLoss, r.grownLoss))
        lines.append(String(format: "tolerance |g' - s g| <= %.0e x the tensor's gradient RMS (at least its group's); moments %.0e relative",
                            r.tolerance.gradient, r.tolerance.moments))
        if !r.momentsChecked {
            lines.append("moments  not checked: a side is weights only (no Adam moments); gradients only")
        }
        let width = max(16, r.rows.map(\.group.count).max() ?? 0)
        func pad(_ text: String, _ n: Int) -> String { text.padding(toLength: max(n, text.count), withPad: " ", startingAt: 0) }
        lines.append(pad("group", width) + "  tensors   entries     fresh  grad err   exp_avg  exp_avg_sq  mismatches")
        for row in r.rows + [r.total] {
            lines.append(pad(row.group, width) + String(
                format: "  %7d  %8d  %8d  %8.1e  %8.1e  %10.1e  %d gradient, %d moment, %d step",
                row.tensors, row.gradientEntries, row.freshEntries, row.worstGradientError, row.worstExpAvgError,
                row.worstExpAvgSqError, row.gradientMismatches, row.momentMismatches, row.stepMismatches))
        }
        for m in r.mismatches {
            let at = m.index.isEmpty ? "" : " [\(m.index.map(String.init).joined(separator: ", "))]"
            let from = m.source.map { s in " (from \(s)\(m.sourceIndex.map { " [\($0.map(String.init).joined(separator: ", "))]" } ?? "")"
                + (m.scale.map { String(format: ", s = %g", $0) } ?? "") + ")" } ?? " (new entry)"
            lines.append(String(format: "mismatch %@ of %@%@%@: expected %.4e, found %.4e", m.quantity.rawValue, m.tensor, at, from,
                                m.expected, m.found))
        }
        for note in notes { lines.append("note     \(note)") }
        switch r.verdict {
        case .consistent:
            lines.append("result   PASS: every gradient is s times its source's" + (r.momentsChecked ? " and the moments carry the same s" : " (moments not checked: weights only)"))
        case .inconsistent:
            lines.append("result   FAIL: \(r.failureSummary ?? "")")
        case .approximateByDesign:
            let why = r.claimedExact ? "symmetry-breaking noise makes the copies' gradients differ" : "the growth does not claim exactness"
            lines.append(String(format: "result   approximate by design (%@): worst gradient error %.2e of the RMS, %d of %d entries beyond %.0e",
                                why, r.total.worstGradientError, r.total.gradientMismatches, r.total.gradientEntries, r.tolerance.gradient))
        }
        return lines.joined(separator: "\n")
    }
}
