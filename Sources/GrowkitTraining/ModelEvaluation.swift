import GrowkitData
import GrowkitModel
import GrowkitCheckpoint
import GrowkitState

extension Evaluator {
    /// Checks that a model and a data file fit together, before any weight is packed
    /// or any batch is run, so the cheapest error comes first.
    ///
    /// - Throws: ``EvaluationError/sequenceTooLong(checkpoint:seqLen:maxPosition:)`` when the
    ///   model has learned positions and `seqLen > max_position` (RoPE models have no such
    ///   table and are evaluated at any length); ``EvaluationError/data(_:)`` wrapping
    ///   ``DataError/tooShort(path:tokens:seqLen:)`` or the first token id `>= vocab_size`
    ///   (``DataError/tokenOutOfRange(path:tokenOffset:byteOffset:token:vocabSize:compressed:)``).
    public static func checkCompatibility(
        config: ModelConfig, checkpoint: String, data: TokenSource, settings: EvaluationSettings
    ) throws(EvaluationError) {
        try settings.check()
        if config.position == .learned && settings.seqLen > config.maxPosition {
            throw .sequenceTooLong(checkpoint: checkpoint, seqLen: settings.seqLen, maxPosition: config.maxPosition)
        }
        guard data.count >= settings.seqLen + 1 else {
            throw .data(.tooShort(path: data.path, tokens: data.count, seqLen: settings.seqLen))
        }
        do { try data.validate(vocabSize: config.vocabSize) } catch { throw .data(error) }
    }

    /// An upper estimate of the float32 activations of a forward-only pass of
    /// `settings.batchSize x settings.seqLen` tokens (residual stream and norms,
    /// q/k/v and attention output, MLP, attention probabilities, logits), in bytes;
    /// `Int.max` when it does not fit an Int.
    public static func activationBytes(config: ModelConfig, settings: EvaluationSettings) -> Int {
        let c = config
        let perToken = [8 * c.hiddenSize, 3 * c.numHeads * c.headDim, 3 * c.intermediateSize, c.vocabSize]
            .reduce(0) { $0.addingReportingOverflow($1).partialValue }
        var floats = 0, overflow = false
        func add(_ factors: [Int]) {
            var product = 1
            for f in factors {
                let (p, o) = product.multipliedReportingOverflow(by: f)
                overflow = overflow || o
                product = p
            }
            let (sum, o) = floats.addingReportingOverflow(product)
            overflow = overflow || o
            floats = sum
        }
        add([settings.batchSize, settings.seqLen, perToken])
        add([settings.batchSize, c.numHeads, settings.seqLen, settings.seqLen])
        let (bytes, o) = floats.multipliedReportingOverflow(by: 4)
        return overflow || o ? Int.max : bytes
    }

    /// Mean next-token cross-entropy of a model over `settings.batches` seeded
    /// random-window batches of `data` (see ``evaluate(data:settings:checkpoint:batchLoss:progress:)``).
    ///
    /// Each batch's loss is the forward pass's float32 mean over its `B T` positions,
    /// `L_i = (1/BT) sum_{b,t} (logsumexp_v z[b,t,v] - z[b,t,y[b,t]])`, the value of
    /// torch's `F.cross_entropy(logits.view(-1, V), targets.view(-1))`; the mean over
    /// batches is accumulated in float64. Activations are allocated once, forward-only.
    public static func evaluate(
        weights: ModelWeights, checkpoint: String, data: TokenSource, settings: EvaluationSettings,
        progress: (EvaluationProgress) -> Void = { _ in }
    ) throws(EvaluationError) -> EvaluationResult {
        try checkCompatibility(config: weights.config, checkpoint: checkpoint, data: data, settings: settings)
        let activations: Activations
        do {
            activations = try Activations(config: weights.config, batchSize: settings.batchSize, seqLen: settings.seqLen,
                                          keepForBackward: false)
        } catch { throw .model(checkpoint: checkpoint, message: error.description) }
        return try evaluate(data: data, settings: settings, checkpoint: checkpoint, batchLoss: { batch throws(EvaluationError) in
            let loss: Float?
            do throws(ModelError) { loss = try weights.forward(tokens: batch.inputs, targets: batch.targets, activations: activations) }
            catch { throw .model(checkpoint: checkpoint, message: error.description) }
            guard let loss else { throw .model(checkpoint: checkpoint, message: "the forward pass returned no loss.") }
            return Double(loss)
        }, progress: progress)
    }
}
