import GrowkitModel
import GrowkitState

/// Function preservation (DESIGN section 6): the same tokens through a source
/// model and the model grown from it; both losses, `|dloss|`, `max |dlogit|`,
/// and whether they are within tolerance.
///
/// Pure: models and tokens in, a ``FunctionPreservationResult`` out; no files, no printing.
/// `growkit verify` loads two checkpoints and calls it; `growkit grow --verify` calls it
/// with the in-memory source and grown parameters.
public enum FunctionPreservation {
    /// Checks that the two configs can be compared on batches of `seqLen` tokens:
    /// same family, same vocabulary, and `seqLen <= max_position` for learned positions.
    /// Cheap: call it before reading weights.
    public static func checkCompatibility(
        source: ModelConfig, grown: ModelConfig, seqLen: Int, names: ModelNames = ModelNames()
    ) throws(VerifyError) {
        guard source.family == grown.family else {
            throw .differentFamilies(source: names.source, sourceFamily: source.family.rawValue,
                                     grown: names.grown, grownFamily: grown.family.rawValue)
        }
        guard source.vocabSize == grown.vocabSize else {
            throw .differentVocabularies(source: names.source, sourceVocab: source.vocabSize,
                                         grown: names.grown, grownVocab: grown.vocabSize)
        }
        for (config, name) in [(source, names.source), (grown, names.grown)]
        where config.position == .learned && seqLen > config.maxPosition {
            throw .sequenceTooLong(model: name, seqLen: seqLen, maxPosition: config.maxPosition)
        }
    }

    /// Runs every batch through both models and compares.
    ///
    /// Per batch `i`: both forward passes (float32, forward-only activations allocated once per
    /// batch shape), the batch losses `L_i`, `L'_i` (mean next-token cross-entropy), and
    /// `max |z' - z|` over the batch's `B T V` logits. Then `L = (1/N) sum L_i` (float64), likewise
    /// `L'`, and the result holds them against `tolerance` (``FunctionPreservationTolerance``).
    ///
    /// - Parameters:
    ///   - claimedExact: whether the growth claims function preservation (``GrowthRecord/exact``);
    ///     decides only the ``FunctionPreservationResult/verdict``, never the figures.
    ///   - names: how the models are named in errors (file paths in the CLI).
    /// - Throws: ``VerifyError`` for different families or vocabularies, a sequence beyond
    ///   `max_position`, no batches, a token outside the vocabulary, a bad tolerance, or a
    ///   non-finite loss or logit (naming the model and batch). A growth that misses the
    ///   tolerance is a result (``FunctionPreservationResult/passed`` false), not an error.
    public static func check(
        source: ModelWeights, grown: ModelWeights, batches: [VerificationBatch], claimedExact: Bool,
        tolerance: FunctionPreservationTolerance = .float32, names: ModelNames = ModelNames(),
        progress: (FunctionPreservationProgress) -> Void = { _ in }
    ) throws(VerifyError) -> FunctionPreservationResult {
        try tolerance.check()
        guard let first = batches.first else { throw .invalidBatch(problem: "no batch to score; pass at least one") }
        for batch in batches {
            try checkCompatibility(source: source.config, grown: grown.config, seqLen: batch.seqLen, names: names)
        }
        var sourceLosses: [Double] = [], grownLosses: [Double] = []
        var maxDifference = 0.0
        var location = LogitLocation(batch: 0, row: 0, position: 0, token: 0)
        var activations: (source: Activations, grown: Activations)? = nil
        let V = source.config.vocabSize
        for (index, batch) in batches.enumerated() {
            if activations == nil || activations!.source.batchSize != batch.batchSize || activations!.source.seqLen != batch.seqLen {
                activations = (try makeActivations(source, batch, names.source), try makeActivations(grown, batch, names.grown))
            }
            let acts = activations!
            let sourceLoss = try run(source, batch, acts.source, names.source, index)
            let grownLoss = try run(grown, batch, acts.grown, names.grown, index)
            sourceLosses.append(sourceLoss)
            grownLosses.append(grownLoss)
            let count = batch.tokenCount * V
            let a = acts.source.logits, b = acts.grown.logits
            for n in 0..<count {
                let d = abs(Double(b[n]) - Double(a[n]))
                guard d.isFinite else {
                    let model = a[n].isFinite ? names.grown : names.source
                    throw .nonFinite(model: model, batch: index + 1, what: "logit")
                }
                if d > maxDifference {
                    maxDifference = d
                    let position = n / V
                    location = LogitLocation(batch: index, row: position / batch.seqLen, position: position % batch.seqLen,
                                             token: n % V)
                }
            }
            progress(FunctionPreservationProgress(batch: index + 1, batches: batches.count, maxLogitDifference: maxDifference))
        }
        let n = Double(batches.count)
        return FunctionPreservationResult(
            claimedExact: claimedExact, tolerance: tolerance, batches: batches.count, batchSize: first.batchSize,
            seqLen: first.seqLen, tokens: batches.reduce(0) { $0 + $1.tokenCount },
            sourceLoss: sourceLosses.reduce(0, +) / n, grownLoss: grownLosses.reduce(0, +) / n,
            maxLogitDifference: maxDifference, maxLogitLocation: location,
            sourceBatchLosses: sourceLosses, grownBatchLosses: grownLosses)
    }

    /// ``check(source:grown:batches:claimedExact:tolerance:names:progress:)`` over parameter
    /// dictionaries (dotted names, as ``TrainingState/parameters``) and their configs: what
    /// `grow --verify` holds in memory. The configs are checked for compatibility before any packing.
    public static func check(
        sourceConfig: ModelConfig, sourceParameters: [String: Tensor],
        grownConfig: ModelConfig, grownParameters: [String: Tensor],
        batches: [VerificationBatch], claimedExact: Bool, tolerance: FunctionPreservationTolerance = .float32,
        names: ModelNames = ModelNames(), progress: (FunctionPreservationProgress) -> Void = { _ in }
    ) throws(VerifyError) -> FunctionPreservationResult {
        for batch in batches {
            try checkCompatibility(source: sourceConfig, grown: grownConfig, seqLen: batch.seqLen, names: names)
        }
        let source = try weights(sourceConfig, sourceParameters, names.source)
        let grown = try weights(grownConfig, grownParameters, names.grown)
        return try check(source: source, grown: grown, batches: batches, claimedExact: claimedExact,
                         tolerance: tolerance, names: names, progress: progress)
    }

    /// Packs parameters into ``ModelWeights``, naming the model in the error.
    public static func weights(_ config: ModelConfig, _ parameters: [String: Tensor], _ name: String) throws(VerifyError) -> ModelWeights {
        do { return try ModelWeights(config: config, parameters: parameters) }
        catch { throw .model(model: name, message: error.description) }
    }

    private static func makeActivations(_ weights: ModelWeights, _ batch: VerificationBatch, _ name: String) throws(VerifyError) -> Activations {
        do { return try Activations(config: weights.config, batchSize: batch.batchSize, seqLen: batch.seqLen, keepForBackward: false) }
        catch { throw .model(model: name, message: error.description) }
    }

    private static func run(_ weights: ModelWeights, _ batch: VerificationBatch, _ acts: Activations, _ name: String,
                            _ index: Int) throws(VerifyError) -> Double {
        let loss: Float?
        do { loss = try weights.forward(tokens: batch.inputs, targets: batch.targets, activations: acts) }
        catch { throw .model(model: name, message: error.description) }
        guard let loss, loss.isFinite else { throw .nonFinite(model: name, batch: index + 1, what: "loss") }
        return Double(loss)
    }
}
