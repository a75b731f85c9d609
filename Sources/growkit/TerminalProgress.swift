import Foundation
import GrowkitCheckpoint
import GrowkitState
import GrowkitTraining

/// One line of progress on stderr. On a terminal it is rewritten in place; on a
/// pipe or file it is printed as plain lines, one per tenth of the work, and
/// only when `plainLines` is set (so small runs and scripted error checks see
/// nothing but the result).
final class TerminalProgress {
    let isTerminal = isatty(STDERR_FILENO) != 0
    let plainLines: Bool
    let start = Date()
    private var lastDecile = -1
    private var shown = false

    init(plainLines: Bool) { self.plainLines = plainLines }

    var elapsedSeconds: Double { max(Date().timeIntervalSince(start), 1e-9) }

    /// Shows `text`; `fraction` in [0, 1] of the work is done.
    func update(_ text: String, fraction: Double) {
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            shown = true
        } else if plainLines {
            let decile = Int((min(max(fraction, 0), 1) * 10).rounded(.down))
            if decile > lastDecile {
                lastDecile = decile
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
        }
    }

    /// Clears the line on a terminal.
    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }

    /// "label: tensor i/N, MB/s, ETA" for a pass over a checkpoint's tensors.
    func update(_ label: String, _ progress: TensorProgress) {
        let rate = Double(progress.bytesDone) / elapsedSeconds
        let remaining = rate > 0 ? Double(progress.bytesTotal - progress.bytesDone) / rate : 0
        let fraction = progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal) : 1
        update(String(format: "%@: tensor %d/%d, %.1f MB/s, ETA %.0f s", label, progress.index + 1, progress.count,
                      rate / 1e6, remaining), fraction: fraction)
    }

    /// "eval batch i/N, loss, tok/s, ETA" for an evaluation.
    func update(_ progress: EvaluationProgress) {
        let remaining = Double(progress.batches - progress.batch) * progress.seconds / Double(max(progress.batch, 1))
        update(String(format: "eval batch %d/%d  loss %.4f  %d tok/s  ETA %.0f s", progress.batch, progress.batches,
                      progress.meanLoss, Int(progress.tokensPerSecond.rounded()), remaining),
               fraction: Double(progress.batch) / Double(max(progress.batches, 1)))
    }
}
