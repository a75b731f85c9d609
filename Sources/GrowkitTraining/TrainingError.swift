import GrowkitData
import GrowkitModel
import GrowkitState

/// Errors of the trainer. Every case renders as one sentence naming the file, option or step
/// and what to do.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model refused its weights or a batch (its sentence).
    case model(ModelError)
    /// The loss of a step came out NaN or infinite; nothing was updated.
    case nonFiniteLoss(step: Int, loss: Double)

    public var description: String {
        switch self {
        case .model(let error):
            error.description
        case .nonFiniteLoss(let step, let loss):
            "the loss became \(loss) at step \(step), so training stopped before that update; resume from the last good checkpoint with a lower learning rate or tighter gradient clipping."
        }
    }
}
