import Foundation
import GrowkitModel
import GrowkitState

/// DESIGN section 6's tolerances of function preservation, in float32.
///
/// A comparison is within tolerance when
/// `max |z' - z| <= logits` over every batch, row, position and vocabulary entry, and
/// `|L' - L| <= loss * max(1, L)`, with `L`, `L'` the source's and the grown model's mean loss.
public struct FunctionPreservationTolerance: Sendable, Hashable, Codable {
    /// Absolute bound on `max |dlogit|`.
    public var logits: Double
    /// Relative bound on `|dloss|`, scaled by `max(1, L_source)`.
    public var loss: Double

    public init(logits: Double = 1e-4, loss: Double = 1e-5) {
        self.logits = logits
        self.loss = loss
    }

    /// 1e-4 on logits, 1e-5 relative on the loss (DESIGN section 6).
    public static let float32 = FunctionPreservationTolerance()

    /// `loss * max(1, sourceLoss)`: the bound on `|dloss|` for this source loss.
    public func lossBound(sourceLoss: Double) -> Double { loss * max(1, sourceLoss) }

    func check() throws(VerifyError) {
        guard logits.isFinite, logits >= 0 else { throw .invalidTolerance(name: "the logit tolerance", value: logits) }
        guard loss.isFinite, loss >= 0 else { throw .invalidTolerance(name: "the loss tolerance", value: loss) }
    }

    enum CodingKeys: String, CodingKey { case logits = "max_abs_logit_diff", loss = "loss_relative" }
}

/// How the two models are named in messages: their file paths in the CLI.
public struct ModelNames: Sendable, Hashable {
    public var source: String
    public var grown: String

    public init(source: String = "the source model", grown: String = "the grown model") {
        self.source = source
        self.grown = grown
    }
}

/// Where the largest logit difference was found (all 0-based).
public struct LogitLocation: Sendable, Hashable, Codable {
    public var batch: Int
    public var row: Int
    public var position: Int
    /// The vocabulary entry (token id) whose logit differs most.
    public var token: Int
}

/// Reported after every batch, for the CLI to render.
public struct FunctionPreservationProgress: Sendable {
    /// Batches done, 1-based.
    public var batch: Int
    public var batches: Int
    /// Largest `|dlogit|` so far.
    public var maxLogitDifference: Double
}

/// The outcome of one function-preservation check.
public struct FunctionPreservationResult: Sendable, Hashable, Codable {
    /// What the outcome means for the growth.
    public enum Verdict: String, Sendable, Hashable, Codable {
        /// Claimed exact and within tolerance.
        case preserved
        /// Claimed exact but beyond tolerance: the check fails.
        case notPreserved = "not_preserved"
        /// Not claimed exact and beyond tolerance: the operator changes the function by design.
        case changedByDesign = "changed_by_design"
        /// Not claimed exact, yet within tolerance.
        case preservedUnclaimed = "preserved_unclaimed"
    }

    /// Whether the growth claims function preservation (then beyond tolerance fails).
    public var claimedExact: Bool
    public var tolerance: FunctionPreservationTolerance
    public var batches: Int
    /// `B`, `T` of the first batch (every CLI batch has the same shape).
    public var batchSize: Int
    public var seqLen: Int
    /// Positions scored per model, over all batches.
    public var tokens: Int
    /// `L = (1/N) sum_i L_i`: the mean over batches of the source model's float32 batch losses, in float64.
    public var sourceLoss: Double
    /// `L'`, the same for the grown model.
    public var grownLoss: Double
    /// `|L' - L|`.
    public var lossDifference: Double
    /// `tolerance.loss * max(1, L)`, the bound `lossDifference` is held to.
    public var lossBound: Double
    /// `max |z'[b,t,v] - z[b,t,v]|` over every batch, row, position and vocabulary entry.
    public var maxLogitDifference: Double
    /// Where `maxLogitDifference` was found.
    public var maxLogitLocation: LogitLocation
    /// Per-batch losses `L_i`, `L'_i`.
    public var sourceBatchLosses: [Double]
    public var grownBatchLosses: [Double]

    /// Both figures within their bounds.
    public var withinTolerance: Bool { maxLogitDifference <= tolerance.logits && lossDifference <= lossBound }

    public var verdict: Verdict {
        switch (claimedExact, withinTolerance) {
        case (true, true): .preserved
        case (true, false): .notPreserved
        case (false, false): .changedByDesign
        case (false, true): .preservedUnclaimed
        }
    }

    /// False only when a claimed-exact growth misses a tolerance.
    public var passed: Bool { verdict != .notPreserved }

    /// The figures beyond their bounds, as a phrase (e.g. `max |dlogit| 1.2e-02 exceeds 1e-04`), or `nil`.
    public var exceeded: String? {
        var parts: [String] = []
        if maxLogitDifference > tolerance.logits {
            parts.append("max |dlogit| \(sci(maxLogitDifference)) exceeds the tolerance \(sci(tolerance.logits))")
        }
        if lossDifference > lossBound {
            parts.append("|dloss| \(sci(lossDifference)) (loss \(fixed(sourceLoss)) -> \(fixed(grownLoss))) exceeds the tolerance \(sci(lossBound))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " and ")
    }

    enum CodingKeys: String, CodingKey {
        case claimedExact = "claimed_exact", tolerance, batches, batchSize = "batch_size", seqLen = "seq_len", tokens
        case sourceLoss = "source_loss", grownLoss = "grown_loss", lossDifference = "abs_loss_diff", lossBound = "loss_bound"
        case maxLogitDifference = "max_abs_logit_diff", maxLogitLocation = "max_abs_logit_diff_at"
        case sourceBatchLosses = "source_batch_losses", grownBatchLosses = "grown_batch_losses"
        case withinTolerance = "within_tolerance", verdict, passed
    }

    public init(claimedExact: Bool, tolerance: FunctionPreservationTolerance, batches: Int, batchSize: Int, seqLen: Int,
                tokens: Int, sourceLoss: Double, grownLoss: Double, maxLogitDifference: Double,
                maxLogitLocation: LogitLocation, sourceBatchLosses: [Double], grownBatchLosses: [Double]) {
        self.claimedExact = claimedExact
        self.tolerance = tolerance
        self.batches = batches
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.tokens = tokens
        self.sourceLoss = sourceLoss
        self.grownLoss = grownLoss
        self.lossDifference = abs(grownLoss - sourceLoss)
        self.lossBound = tolerance.lossBound(sourceLoss: sourceLoss)
        self.maxLogitDifference = maxLogitDifference
        self.maxLogitLocation = maxLogitLocation
        self.sourceBatchLosses = sourceBatchLosses
        self.grownBatchLosses = grownBatchLosses
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            claimedExact: try c.decode(Bool.self, forKey: .claimedExact),
            tolerance: try c.decode(FunctionPreservationTolerance.self, forKey: .tolerance),
            batches: try c.decode(Int.self, forKey: .batches), batchSize: try c.decode(Int.self, forKey: .batchSize),
            seqLen: try c.decode(Int.self, forKey: .seqLen), tokens: try c.decode(Int.self, forKey: .tokens),
            sourceLoss: try c.decode(Double.self, forKey: .sourceLoss), grownLoss: try c.decode(Double.self, forKey: .grownLoss),
            maxLogitDifference: try c.decode(Double.self, forKey: .maxLogitDifference),
            maxLogitLocation: try c.decode(LogitLocation.self, forKey: .maxLogitLocation),
            sourceBatchLosses: try c.decode([Double].self, forKey: .sourceBatchLosses),
            grownBatchLosses: try c.decode([Double].self, forKey: .grownBatchLosses))
    }

    /// Every stored figure plus the derived `within_tolerance`, `verdict` and `passed`, so the JSON is self-contained.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(claimedExact, forKey: .claimedExact)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(batches, forKey: .batches)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(seqLen, forKey: .seqLen)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(sourceLoss, forKey: .sourceLoss)
        try c.encode(grownLoss, forKey: .grownLoss)
        try c.encode(lossDifference, forKey: .lossDifference)
        try c.encode(lossBound, forKey: .lossBound)
        try c.encode(maxLogitDifference, forKey: .maxLogitDifference)
        try c.encode(maxLogitLocation, forKey: .maxLogitLocation)
        try c.encode(sourceBatchLosses, forKey: .sourceBatchLosses)
        try c.encode(grownBatchLosses, forKey: .grownBatchLosses)
        try c.encode(withinTolerance, forKey: .withinTolerance)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(passed, forKey: .passed)
    }
}

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

/// `1.23e-05`: the figures of a comparison.
func sci(_ value: Double) -> String { String(format: "%.2e", value) }
/// `5.545177`: a loss.
func fixed(_ value: Double) -> String { String(format: "%.6f", value) }

extension FunctionPreservationResult {
    /// The result as a provenance ``JSONValue`` (the same keys as `verify --json`'s `result`), for
    /// `grow --verify` to store in its record's `verification`. Every figure is finite (the check
    /// throws on a non-finite loss or logit), so the encoding cannot fail; `.null` if it ever did.
    public var provenanceValue: JSONValue {
        guard let data = try? JSONEncoder().encode(self),
              let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return value
    }
}
