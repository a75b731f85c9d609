/// Errors of `growkit verify` and of ``FunctionPreservation/check(source:grown:batches:claimedExact:tolerance:names:progress:)``.
/// Every case renders as one sentence naming the state (its file name when the
/// caller passed one in ``ModelNames``), what is wrong and what to do.
public enum VerifyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The two states are of different model families (`gpt2`, `llama`): no growth maps one onto the other.
    case differentFamilies(source: String, sourceFamily: String, grown: String, grownFamily: String)
    /// The two vocabularies differ: the same token ids do not mean the same thing, and the logits are not comparable.
    case differentVocabularies(source: String, sourceVocab: Int, grown: String, grownVocab: Int)
    /// A sequence longer than `max_position` of a model with learned positions.
    case sequenceTooLong(model: String, seqLen: Int, maxPosition: Int)
    /// No batch was given, or a batch's shape or token counts are invalid.
    case invalidBatch(problem: String)
    /// A tolerance that is negative, NaN or infinite.
    case invalidTolerance(name: String, value: Double)
    /// The model rejected its weights or a batch; `message` is its sentence.
    case model(model: String, message: String)
    /// A batch gave a NaN or infinite loss or logit.
    case nonFinite(model: String, batch: Int, what: String)
    /// A growth that claims exactness (or was required to be exact, `--expect-exact`) changed the
    /// function beyond the tolerances (the CLI's failure); `summary` names the figures.
    case notPreserved(grown: String, requiredByFlag: Bool, summary: String)
    /// `verify --gradients`, `--steps`: GROWN's provenance does not show a growth of SMALL that can be replayed.
    case notDerived(grown: String, source: String, reason: String)
    /// A growth that claims exactness has gradients or moments that miss the rule `g' = s g` (`verify --gradients`).
    case gradientsInconsistent(grown: String, summary: String)
    /// A file could not be read or a training run failed; `message` is the underlying sentence.
    case unreadable(message: String)
    /// `verify --steps`: a bad option or data.
    case invalidDynamics(problem: String)

    public var description: String {
        let text: String
        switch self {
        case .differentFamilies(let source, let sourceFamily, let grown, let grownFamily):
            text = "\(source) is a \(sourceFamily) model but \(grown) is a \(grownFamily) model; verify compares a state with one grown from it, so both must be of the same family"
        case .differentVocabularies(let source, let sourceVocab, let grown, let grownVocab):
            text = "\(source) has vocab_size \(sourceVocab) but \(grown) has vocab_size \(grownVocab); the same tokens cannot be scored by both, so compare states with the same vocabulary"
        case .sequenceTooLong(let model, let seqLen, let maxPosition):
            text = "sequence length \(seqLen) exceeds max_position \(maxPosition) of \(model), whose model has learned positions; pass --seq-len \(maxPosition) or less"
        case .invalidBatch(let problem):
            text = "invalid verification batch: \(problem)"
        case .invalidTolerance(let name, let value):
            text = "\(name) is \(value); a tolerance must be a finite number >= 0"
        case .model(let model, let message):
            text = "\(model): \(message)"
        case .nonFinite(let model, let batch, let what):
            text = "\(model) gives a non-finite \(what) on verification batch \(batch); run growkit inspect --stats on it"
        case .notPreserved(let grown, let requiredByFlag, let summary):
            let claim = requiredByFlag ? "was required to preserve its source's function (--expect-exact)"
                : "claims a function-preserving growth in its provenance"
            text = "\(grown) \(claim) but \(summary), so the grown model does not compute the same function"
        case .notDerived(let grown, let source, let reason):
            text = "\(grown) is not derived from \(source) by a recorded growth: \(reason); pass the state it was grown from, or a file grown by growkit grow"
        case .gradientsInconsistent(let grown, let summary):
            text = "\(grown) claims a function-preserving growth but \(summary), so its gradients or moments do not follow g' = s g"
        case .unreadable(let message):
            text = message
        case .invalidDynamics(let problem):
            text = problem
        }
        return Self.oneSentence(text)
    }

    /// Newlines collapsed to spaces, exactly one final period.
    static func oneSentence(_ text: String) -> String {
        var line = String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        while line.last == "." || line.last == " " { line.removeLast() }
        return line + "."
    }
}
