import GrowkitData
import GrowkitRandom
import GrowkitState

/// One batch of tokens that both models score: `inputs` and `targets` of shape
/// `[B, T]`, row-major, `targets[b, t]` the token after `inputs[b, t]`.
///
/// A plain value so that callers with tokens in memory (`growkit grow --verify`,
/// tests) need no data file; ``init(_:)`` takes a ``TokenBatch`` of a data file.
public struct VerificationBatch: Sendable, Equatable {
    public let batchSize: Int
    public let seqLen: Int
    public let inputs: [Int32]
    public let targets: [Int32]

    /// Checks that `inputs` and `targets` each hold `batchSize * seqLen` ids and both sizes are positive.
    public init(batchSize: Int, seqLen: Int, inputs: [Int32], targets: [Int32]) throws(VerifyError) {
        guard batchSize >= 1, seqLen >= 1 else {
            throw .invalidBatch(problem: "batch size \(batchSize) and sequence length \(seqLen) must both be positive")
        }
        let (count, overflow) = batchSize.multipliedReportingOverflow(by: seqLen)
        guard !overflow, inputs.count == count, targets.count == count else {
            throw .invalidBatch(problem: "\(inputs.count) inputs and \(targets.count) targets for a \(batchSize) x \(seqLen) batch")
        }
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.inputs = inputs
        self.targets = targets
    }

    /// The same tokens as a data file's batch.
    public init(_ batch: TokenBatch) {
        batchSize = batch.batchSize
        seqLen = batch.seqLen
        inputs = batch.inputs
        targets = batch.targets
    }

    /// `B T`, the positions scored.
    public var tokenCount: Int { batchSize * seqLen }
}

extension FunctionPreservation {
    /// Default number of batches when the caller does not choose.
    public static let defaultBatchCount = 2
    /// Default rows per batch.
    public static let defaultBatchSize = 4
    /// Default sequence length: `min(64, max_position)` of every model given.
    public static func defaultSeqLen(_ configs: ModelConfig...) -> Int {
        configs.reduce(64) { min($0, $1.maxPosition) }
    }

    /// `count` batches of `batchSize x seqLen` token ids drawn uniformly from
    /// `0 ..< vocabSize` by xoshiro256** seeded with `seed`: the default input of
    /// `verify` without `--data` and of `grow --verify`.
    ///
    /// Each row is a window of `T + 1` random ids `x_0 ... x_T`; inputs are `x_0 ..< x_T`, targets
    /// `x_1 ... x_T` (the same layout as a data file's windows). Uniform ids are far from any
    /// training distribution, but preservation is a property of the function at every input, and
    /// `max |dlogit|` is measured on every position and every vocabulary entry.
    public static func randomBatches(
        vocabSize: Int, count: Int = defaultBatchCount, batchSize: Int = defaultBatchSize, seqLen: Int, seed: UInt64 = 0
    ) throws(VerifyError) -> [VerificationBatch] {
        guard vocabSize >= 1 else { throw .invalidBatch(problem: "vocabulary size \(vocabSize) must be positive") }
        guard count >= 1 else { throw .invalidBatch(problem: "batch count \(count) must be positive") }
        guard batchSize >= 1, seqLen >= 1, batchSize <= 1 << 20, seqLen <= 1 << 24 else {
            throw .invalidBatch(problem: "batch size \(batchSize) and sequence length \(seqLen) must be positive and sane")
        }
        var rng = Xoshiro256StarStar(seed: seed)
        var batches: [VerificationBatch] = []
        for _ in 0..<count {
            var inputs = [Int32](), targets = [Int32]()
            inputs.reserveCapacity(batchSize * seqLen)
            targets.reserveCapacity(batchSize * seqLen)
            for _ in 0..<batchSize {
                let window = (0...seqLen).map { _ in Int32(rng.nextInt(below: vocabSize)) }
                inputs += window[0..<seqLen]
                targets += window[1...seqLen]
            }
            batches.append(try VerificationBatch(batchSize: batchSize, seqLen: seqLen, inputs: inputs, targets: targets))
        }
        return batches
    }

    /// ``randomBatches(vocabSize:count:batchSize:seqLen:seed:)`` for a config with the defaults:
    /// 2 batches of 4 x `min(64, max_position)` tokens, seed 0.
    public static func randomBatches(for config: ModelConfig, seed: UInt64 = 0) throws(VerifyError) -> [VerificationBatch] {
        try randomBatches(vocabSize: config.vocabSize, seqLen: defaultSeqLen(config), seed: seed)
    }
}
