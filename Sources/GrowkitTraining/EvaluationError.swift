import GrowkitData

/// Errors of `growkit eval`. Every case renders as one sentence naming the
/// checkpoint or data file, the object and what to do.
public enum EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting (batches, batch size, sequence length) outside its range.
    case invalidArgument(name: String, value: String, requirement: String)
    /// A sequence longer than `max_position` for a model with learned positions.
    case sequenceTooLong(checkpoint: String, seqLen: Int, maxPosition: Int)
    /// The data file failed to open, validate or sample (already names the file).
    case data(DataError)
    /// The model rejected its weights or a batch; `message` is its sentence.
    case model(checkpoint: String, message: String)
    /// A batch's mean loss came out NaN or infinite.
    case nonFiniteLoss(checkpoint: String, batch: Int, loss: Double)

    public var description: String {
        switch self {
        case .invalidArgument(let name, let value, let requirement):
            "\(name) is \(value); it must be \(requirement)."
        case .sequenceTooLong(let checkpoint, let seqLen, let maxPosition):
            "sequence length \(seqLen) exceeds max_position \(maxPosition) of checkpoint \(checkpoint), whose model has learned positions; pass --seq-len \(maxPosition) or less."
        case .data(let error):
            error.description
        case .model(let checkpoint, let message):
            "checkpoint \(checkpoint): \(message)"
        case .nonFiniteLoss(let checkpoint, let batch, let loss):
            "checkpoint \(checkpoint) gives a loss of \(loss) on evaluation batch \(batch); its weights are finite, so the activations overflowed: run growkit inspect --stats on it."
        }
    }
}
