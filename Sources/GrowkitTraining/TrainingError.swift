import GrowkitCheckpoint
import GrowkitData
import GrowkitModel
import GrowkitState

/// Errors of the trainer. Every case renders as one sentence naming the file, option or step
/// and what to do.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model refused its weights or a batch (its sentence).
    case model(ModelError)
    /// The loss of a step came out NaN or infinite; nothing was updated and nothing saved.
    case nonFiniteLoss(step: Int, loss: Double, lastCheckpoint: String?)
    /// The gradient norm came out NaN or infinite although the loss was finite; nothing was updated.
    case nonFiniteGradient(step: Int, lastCheckpoint: String?)
    /// `--out` names an existing file that is not the checkpoint being resumed.
    case outputExists(path: String)
    /// The model config file failed its schema (`field` nil: the file as a whole).
    case invalidConfigFile(path: String, field: String?, problem: String)
    /// Reading or writing a checkpoint failed (its sentence names the file).
    case checkpoint(StateError)
    /// The data file failed to open or validate (its sentence names the file).
    case data(DataError)
    /// The training split holds fewer tokens than one step reads.
    case dataTooShort(path: String, tokens: Int, needed: Int, batchSize: Int, seqLen: Int)
    /// An option disagrees with the checkpoint being resumed.
    case contradictsCheckpoint(path: String, option: String, detail: String)
    /// The checkpoint's folder does not exist or cannot be written.
    case outputNotWritable(path: String)
    /// An option outside its range or a missing combination.
    case invalidOption(name: String, value: String, requirement: String)

    public var description: String {
        switch self {
        case .model(let error):
            error.description
        case .nonFiniteLoss(let step, let loss, let last):
            "the loss became \(loss) at step \(step), so training stopped before that update"
                + (last.map { "; the last good checkpoint is \($0): resume from it" } ?? "; no checkpoint was saved yet: start again")
                + " with a lower learning rate or tighter gradient clipping."
        case .nonFiniteGradient(let step, let last):
            "the gradient norm became NaN or infinite at step \(step) although the loss was finite, so training stopped before that update"
                + (last.map { "; the last good checkpoint is \($0): resume from it" } ?? "; no checkpoint was saved yet: start again")
                + " with a lower learning rate."
        case .outputExists(let path):
            "\(path) already exists and is not the checkpoint being resumed; choose another --out, or continue it with --resume \(path)."
        case .invalidConfigFile(let path, let field, let problem):
            if let field { "model config \(path): field \(field) \(problem); fix it (schema: schemas/model-config-v1.schema.json)." }
            else { "model config \(path) \(problem); give a JSON object with the fields of schemas/model-config-v1.schema.json." }
        case .checkpoint(let error):
            error.description
        case .data(let error):
            error.description
        case .dataTooShort(let path, let tokens, let needed, let batchSize, let seqLen):
            "data file \(path) has \(tokens) training tokens but one step of \(batchSize) x \(seqLen) needs \(needed); use more data or a smaller --batch-size / --seq-len."
        case .contradictsCheckpoint(let path, let option, let detail):
            "\(option) contradicts the checkpoint \(path) being resumed: \(detail); drop the option, or start a new run without --resume."
        case .outputNotWritable(let path):
            "cannot write checkpoints to \(path): its folder does not exist or is not writable; create it or choose another --out."
        case .invalidOption(let name, let value, let requirement):
            "\(name) is \(value); it must be \(requirement)."
        }
    }
}
