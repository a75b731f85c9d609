import GrowkitState

/// Errors of the forward pass: bad weights, bad configs and bad inputs.
/// Every case renders as one sentence naming the object and what to do.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The config failed ``ModelConfig/validate()``.
    case invalidConfig(ConfigError)
    /// A parameter the config implies is absent from the dictionary.
    case missingParameter(name: String)
    /// A parameter the config does not imply is present.
    case unexpectedParameter(name: String)
    /// A parameter's shape disagrees with the config.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A parameter holds NaN or an infinity at flat index `index`.
    case nonFiniteWeight(name: String, index: Int, value: Float)
    /// Batch size or sequence length is not positive.
    case invalidBatchShape(batchSize: Int, seqLen: Int)
    /// The token (or target) array does not hold `batchSize * seqLen` entries.
    case inputCountMismatch(what: String, expected: Int, actual: Int)
    /// A token id is outside `0 ..< vocab_size`.
    case tokenOutOfRange(what: String, batch: Int, position: Int, token: Int, vocabSize: Int)
    /// With learned positions the sequence may not exceed `max_position`.
    case sequenceTooLong(seqLen: Int, maxPosition: Int)
    /// Every target equals the ignore index, so the mean loss is undefined.
    case noValidTargets
    /// The activations for this batch would need more memory than allowed.
    case activationsTooLarge(batchSize: Int, seqLen: Int, bytes: Int)
    /// The activations were sized for another (batch, seqLen) or config.
    case activationsMismatch(expected: String, actual: String)
    /// A backward pass needs activations kept for it and a forward pass with targets.
    case nothingToDifferentiate(reason: String)

    public var description: String {
        switch self {
        case .invalidConfig(let error):
            "\(error)"
        case .missingParameter(let name):
            "parameter \(name) is missing; the model config requires it, so supply it or fix the config."
        case .unexpectedParameter(let name):
            "parameter \(name) is not part of this model config; remove it or fix the config."
        case .shapeMismatch(let name, let expected, let actual):
            "parameter \(name) has shape \(actual) but the model config implies \(expected); fix the tensor or the config."
        case .nonFiniteWeight(let name, let index, let value):
            "parameter \(name) holds \(value) at flat index \(index); a forward pass needs finite weights, so restore the tensor from a healthy checkpoint."
        case .invalidBatchShape(let batchSize, let seqLen):
            "batch size \(batchSize) and sequence length \(seqLen) must both be positive."
        case .inputCountMismatch(let what, let expected, let actual):
            "\(what) holds \(actual) entries but batch size times sequence length is \(expected); pass one \(what) entry per position."
        case .tokenOutOfRange(let what, let batch, let position, let token, let vocabSize):
            "\(what) id \(token) at batch row \(batch), position \(position) is outside the vocabulary 0..<\(vocabSize); re-tokenize the data for this model."
        case .sequenceTooLong(let seqLen, let maxPosition):
            "sequence length \(seqLen) exceeds max_position \(maxPosition) of this learned-position model; use sequences of at most \(maxPosition) tokens."
        case .noValidTargets:
            "every target equals the ignore index -100, so the mean loss is undefined; supply at least one real target."
        case .activationsTooLarge(let batchSize, let seqLen, let bytes):
            "activations for batch size \(batchSize) and sequence length \(seqLen) would need \(bytes) bytes, above the limit; use a smaller batch or shorter sequences."
        case .activationsMismatch(let expected, let actual):
            "activations were sized for \(actual) but this forward pass needs \(expected); allocate activations for this batch shape and model."
        case .nothingToDifferentiate(let reason):
            "the backward pass has nothing to differentiate: \(reason); run forward with targets on activations made with keepForBackward: true first."
        }
    }
}
