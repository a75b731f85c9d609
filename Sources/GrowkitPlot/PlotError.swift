/// Why a plot cannot be drawn: one sentence naming the run and what to do.
public enum PlotError: Error, Sendable, Equatable, CustomStringConvertible {
    case noRuns
    /// The run (its file name) has no history entries.
    case emptyHistory(String)
    /// The run has no point that can be drawn on the chosen scales (non-finite, or not positive on a log axis).
    case nothingToDraw(String, reason: String)

    public var description: String {
        switch self {
        case .noRuns:
            return "no checkpoints to plot: give one or more growkit checkpoints (.h5)."
        case .emptyHistory(let file):
            return "\(file) has no history entries (/history is empty or absent, as in a weights-only or untrained state); plot checkpoints written by a trainer."
        case .nothingToDraw(let file, let reason):
            return "\(file) has no point to draw: \(reason)."
        }
    }
}
