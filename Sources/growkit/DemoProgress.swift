import Foundation
import GrowkitTraining

/// The demo's progress on stderr: one line per stage, then the training runs'
/// step, loss, tokens/s and ETA (rewritten in place on a terminal, a line per
/// tenth of the run otherwise; nothing on a pipe when `plainLines` is off).
final class DemoProgress {
    let settings: DemoSettings
    let plainLines: Bool
    private var line: TerminalProgress?

    init(settings: DemoSettings, plainLines: Bool) {
        self.settings = settings
        self.plainLines = plainLines
    }

    func show(_ event: DemoEvent) {
        switch event {
        case .stage(let text):
            line?.finish()
            line = TerminalProgress(plainLines: plainLines)
            line?.update(text, fraction: 0)
        case .training(let run, .step(let outcome, let tokensSeen, let rate, let secondsLeft, let fraction)):
            let last = run == "small" ? settings.growStep : run == "grown" ? settings.growStep + settings.grownSteps : settings.grownSteps
            line?.update(String(format: "%@: step %d/%d  loss %.4f  %d tokens seen  %.0f tok/s  ETA %.0f s", run,
                                outcome.step, last, outcome.loss, tokensSeen, rate, secondsLeft ?? 0),
                         fraction: max(fraction, 0.1))
        case .training(let run, .evaluated(let step, let loss)):
            line?.update(String(format: "%@: held-out loss %.4f at step %d", run, loss, step), fraction: 1)
        case .training(_, .saved):
            break
        }
    }

    func finish() { line?.finish() }
}
