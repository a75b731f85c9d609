import GrowkitData

/// What `growkit eval` measures: `batches` batches of `batchSize x seqLen`
/// random windows of the data, drawn from `seed` (``RandomWindowSampler``).
public struct EvaluationSettings: Sendable, Hashable, Codable {
    public var batches: Int
    public var batchSize: Int
    public var seqLen: Int
    public var seed: UInt64

    public init(batches: Int, batchSize: Int, seqLen: Int, seed: UInt64) {
        self.batches = batches
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.seed = seed
    }

    /// 1 Mi batches: far beyond any useful evaluation, low enough that a typo is caught.
    public static let maxBatches = 1 << 20
    /// Largest batch size, sequence length and tokens per batch: 2^24.
    public static let maxBatchDimension = 1 << 24

    func check() throws(EvaluationError) {
        guard batches >= 1 && batches <= Self.maxBatches else {
            throw .invalidArgument(name: "--batches", value: "\(batches)", requirement: "between 1 and \(Self.maxBatches)")
        }
        // Bounded like every model dimension, so B * T * (any dimension) and
        // batches * B * T cannot overflow; memory is checked separately.
        let bound = Self.maxBatchDimension
        guard batchSize >= 1 && batchSize <= bound else {
            throw .invalidArgument(name: "--batch-size", value: "\(batchSize)", requirement: "between 1 and \(bound)")
        }
        guard seqLen >= 1 && seqLen <= bound else {
            throw .invalidArgument(name: "--seq-len", value: "\(seqLen)", requirement: "between 1 and \(bound)")
        }
        guard batchSize * seqLen <= bound else {
            throw .invalidArgument(name: "--batch-size x --seq-len", value: "\(batchSize) x \(seqLen)",
                                   requirement: "at most \(bound) tokens per batch")
        }
    }
}

/// Reported after every batch, for the CLI to render.
public struct EvaluationProgress: Sendable {
    /// Batches done, 1-based.
    public var batch: Int
    public var batches: Int
    /// Target tokens scored so far (`batch * B * T`).
    public var tokens: Int
    /// Wall time since the first batch started.
    public var seconds: Double
    /// The mean loss over the batches so far.
    public var meanLoss: Double

    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// The outcome of an evaluation.
public struct EvaluationResult: Sendable, Codable, Equatable {
    public var settings: EvaluationSettings
    /// `L = (1/N) sum_i L_i`, the mean over batches of each batch's mean next-token
    /// cross-entropy (nats). Every batch has the same `B T` targets, so this is
    /// also the mean over all scored tokens.
    public var meanLoss: Double
    /// `exp(L)`.
    public var perplexity: Double
    /// `L_i` per batch, in order.
    public var batchLosses: [Double]
    /// `N B T`.
    public var tokens: Int
    public var seconds: Double

    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// Mean loss and perplexity of a model over deterministic batches of a data file.
public enum Evaluator {
    /// Runs `batchLoss` on `settings.batches` batches from a ``RandomWindowSampler`` seeded
    /// with `settings.seed` and averages the results.
    ///
    /// `batchLoss` returns the mean cross-entropy of one batch; it is the seam
    /// between the data and the model (``evaluate(weights:checkpoint:data:settings:progress:)``
    /// passes the forward pass), which keeps this loop testable with an analytic loss.
    /// - Throws: ``EvaluationError`` for bad settings, data shorter than one window,
    ///   and a non-finite batch loss (naming the batch).
    public static func evaluate(
        data: TokenSource, settings: EvaluationSettings, checkpoint: String,
        batchLoss: (TokenBatch) throws(EvaluationError) -> Double,
        progress: (EvaluationProgress) -> Void = { _ in }
    ) throws(EvaluationError) -> EvaluationResult {
        try settings.check()
        var sampler: RandomWindowSampler
        do {
            sampler = try RandomWindowSampler(source: data, batchSize: settings.batchSize, seqLen: settings.seqLen, seed: settings.seed)
        } catch { throw .data(error) }
        let clock = ContinuousClock()
        let start = clock.now
        var losses = [Double]()
        losses.reserveCapacity(settings.batches)
        var sum = 0.0
        let tokensPerBatch = settings.batchSize * settings.seqLen
        for index in 0..<settings.batches {
            let batch: TokenBatch
            do { batch = try sampler.next() } catch { throw .data(error) }
            let loss = try batchLoss(batch)
            guard loss.isFinite else { throw .nonFiniteLoss(checkpoint: checkpoint, batch: index + 1, loss: loss) }
            losses.append(loss)
            sum += loss
            progress(EvaluationProgress(batch: index + 1, batches: settings.batches, tokens: (index + 1) * tokensPerBatch,
                                        seconds: (clock.now - start).seconds, meanLoss: sum / Double(index + 1)))
        }
        let mean = sum / Double(settings.batches)
        return EvaluationResult(settings: settings, meanLoss: mean, perplexity: _exp(mean), batchLosses: losses,
                                tokens: settings.batches * tokensPerBatch, seconds: (clock.now - start).seconds)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
@inline(__always) private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
