import Foundation

/// The demo's text report: one table per stage, rendered from a ``DemoResult``.
enum DemoReport {
    static func text(_ r: DemoResult, settings: DemoSettings) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }

        let versions = r.references.first.map { "torch \($0.torchVersion), transformers \($0.transformersVersion)" } ?? ""
        line("1. Forward pass vs Hugging Face transformers (\(versions); pass: max |dlogit| <= 1e-4, |dloss| <= 1e-5 relative)")
        line(table(["case", "family", "loss (growkit)", "loss (transformers)", "|dloss|", "max |dlogit|", "result"],
                   r.references.map { [$0.name, $0.family, fixed($0.loss, 6), fixed($0.referenceLoss, 6), sci($0.lossDifference),
                                       sci($0.maxLogitDifference), $0.passed ? "pass" : "FAIL"] }))

        let s = r.settings
        line("2. Training on \(s.corpus) (The Jargon File 4.4.7, bytes as tokens; the last 10% held out)")
        line("   \(s.batchSize) x \(s.seqLen) = \(s.tokensPerStep) tokens per step; AdamW (betas 0.9/0.95, weight decay 0.1, clip 1.0);"
             + " warmup \(s.warmupSteps) steps, then cosine LR \(sci(s.peakLR)) -> \(sci(s.minLR))")
        line("   small: steps 1-\(s.growStep) of a \(s.growStep + s.grownSteps)-step cosine; grown: finishes it (steps \(s.growStep + 1)-\(s.growStep + s.grownSteps),"
             + " re-warmed over \(s.rewarmSteps)); scratch (the grown size from scratch): its own \(s.grownSteps)-step cosine, the same number of tokens")
        line(table(["model", "layers", "hidden", "heads (kv)", "MLP", "parameters"], [
            ["small", "\(s.smallModel.numLayers)", "\(s.smallModel.hiddenSize)", "\(s.smallModel.numHeads) (\(s.smallModel.numKVHeads))",
             "\(s.smallModel.intermediateSize)", count(s.smallModel.parameters)],
            ["grown = scratch", "\(s.grownModel.numLayers)", "\(s.grownModel.hiddenSize)", "\(s.grownModel.numHeads) (\(s.grownModel.numKVHeads))",
             "\(s.grownModel.intermediateSize)", count(s.grownModel.parameters)],
        ]))

        if let p = r.planner {
            line("3. When to grow: staged training's slope rule (Shen et al. 2022) on the small run's own loss history")
            line("   smoothed slope of log L over log C: \(fixed(p.slope, 4)) +- \(fixed(p.standardError, 4)) at step \(Int(p.centreStep.rounded()))"
                 + " (threshold \(p.threshold) for depth and width at once)")
            line("   answer: \(p.decision)")
            line()
        }

        if !r.checks.isEmpty {
            let held = r.functionPreservation.map { " on \($0.batches) held-out batches of \($0.batchSize) x \($0.seqLen) tokens" } ?? ""
            line("4. Growth at step \(s.growStep): \(s.operators.joined(separator: ", ")) (moments carried, schedule continued with a \(s.rewarmSteps)-step re-warm), checked\(held)")
            line(table(["check", "figures", "result"], r.checks.map { check in
                [check.name, check.figures.map { "\($0.label) \(figure($0.value))" }.joined(separator: ", "),
                 check.passed ? "pass (\(check.verdict))" : "FAIL (\(check.verdict))"]
            }))
        }

        if r.runs.count == 3, let c = r.comparison {
            let before = r.functionPreservation?.sourceLoss, after = r.functionPreservation?.grownLoss
            line("5. Runs (FLOPs: 6 x parameters per trained token, the grown run counting its small phase at the small size)")
            line(table(["run", "parameters", "steps", "tokens seen", "FLOPs (6N/token)", "held-out at growth", "final train loss",
                        "final held-out", "wall time", "tokens/s"], r.runs.map { run in
                let atGrowth = run.name == "small" ? before.map { fixed($0, 6) } ?? "" : run.name == "grown" ? after.map { fixed($0, 6) } ?? "" : "-"
                return [run.name, count(run.parameters), "\(run.firstStep)-\(run.lastStep)", count(run.tokensSeen),
                        sci(run.cumulativeFlops), atGrowth, fixed(run.finalLoss, 4), fixed(run.heldOutLoss, 4),
                        "\(fixed(run.seconds, 1)) s", "\(Int(run.tokensPerSecond.rounded()))"]
            }))
            let change = c.heldOutAfterGrowth - c.heldOutAtGrowth
            line("   after growth: held-out loss \(fixed(c.heldOutAtGrowth, 4)) at step \(s.growStep), \(fixed(c.heldOutAfterGrowth, 4)) at step \(c.stepAfterGrowth)"
                 + (change <= 0 ? " (no spike: it falls at once)" : " (up by \(fixed(change, 4)))")
                 + "; the largest after growth: \(fixed(c.largestHeldOutAfterGrowth, 4)) at step \(c.stepOfLargest)")
            line("   equal tokens at the grown size (\(count(r.runs[2].tokensSeen)) each): grown \(fixed(c.grownHeldOutLoss, 4)) vs scratch \(fixed(c.scratchHeldOutLoss, 4))"
                 + " (\(ahead(c.scratchHeldOutLoss - c.grownHeldOutLoss)))")
            if let g = c.grownHeldOutAtEqualFlops, let x = c.scratchHeldOutAtEqualFlops {
                line("   equal compute (\(sci(c.equalFlops)) FLOPs): grown \(fixed(g, 4)) vs scratch \(fixed(x, 4)) (\(ahead(x - g)));"
                     + " the grown run's total is \(Int((c.flopsRatio * 100).rounded()))% of scratch's")
            }
            line()
        }
        if let o = r.outputs {
            let names = (o.checkpoints + o.plots).map { ($0 as NSString).lastPathComponent }
            line("Wrote \(o.folder)/: \(names.joined(separator: ", "))")
        }
        line("Total wall time: \(fixed(r.seconds, 1)) s")
        return out
    }

    /// Why the demo fails (one sentence), or nil when every check passed.
    static func failure(_ r: DemoResult) -> String? {
        if !r.references.allSatisfy(\.passed) {
            return "the forward pass disagrees with Hugging Face transformers beyond float32 tolerance; see the table above."
        }
        if let failed = r.checks.first(where: { !$0.passed }) {
            return "the growth failed its check '\(failed.name)' (\(failed.verdict)); nothing was trained on it."
        }
        return nil
    }

    /// "grown ahead by 0.0123" for a positive margin (scratch minus grown), else "scratch ahead by ...".
    static func ahead(_ margin: Double) -> String {
        margin > 0 ? "grown ahead by \(fixed(margin, 4))" : "scratch ahead by \(fixed(-margin, 4))"
    }

    static func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
    static func sci(_ x: Double) -> String { String(format: "%.1e", x) }
    /// A loss to 7 decimals, a small difference in scientific notation.
    /// Counts as integers, losses to 7 decimals, small differences in scientific notation.
    static func figure(_ x: Double) -> String {
        if x == x.rounded(), abs(x) >= 100 { return String(Int(x)) }
        return abs(x) >= 0.01 ? fixed(x, 7) : sci(x)
    }
    /// 1234567 as `1.23M`, 12345 as `12.3k`.
    static func count(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e6 { return String(format: "%.2fM", x / 1e6) }
        if x >= 1e4 { return String(format: "%.1fk", x / 1e3) }
        return "\(n)"
    }

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
