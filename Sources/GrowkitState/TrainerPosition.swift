/// Where the trainer stands, stored in `/trainer` (docs/FORMAT.md, "`/trainer`").
public struct TrainerPosition: Sendable, Hashable, Codable {
    /// Optimizer updates taken so far; the next update uses `schedule.learningRate(atStep: step)`.
    public var step: Int
    public var tokensSeen: Int
    public var batchSize: Int
    public var seqLen: Int
    public var seed: Int
    /// Offset, in tokens, into the training data of the next batch. Kept in
    /// tokens (not batches) so a changed batch size neither repeats nor skips data.
    public var dataCursor: Int
    /// The trainer's RNG state as opaque bytes (`/trainer/rng_state`).
    public var rngState: [UInt8]
    /// The algorithm of `rngState` (attribute `generator`), e.g. `xoshiro256**` (32 bytes).
    public var generator: String

    public init(step: Int, tokensSeen: Int, batchSize: Int, seqLen: Int, seed: Int, dataCursor: Int,
                rngState: [UInt8], generator: String) {
        self.step = step
        self.tokensSeen = tokensSeen
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.seed = seed
        self.dataCursor = dataCursor
        self.rngState = rngState
        self.generator = generator
    }

    /// Largest RNG state a reader accepts (bytes); real generators need a few hundred at most
    /// (mt19937: 2.5 KiB), so this only guards against absurd files.
    public static let maxRNGStateBytes = 1 << 16

    /// Largest step, token count or data cursor: 2^53 (9e15 tokens, far beyond
    /// any run; exact in float64), so sums and products with other bounded values
    /// (`step + 1`, `batch_size * seq_len`, cursor arithmetic) never overflow.
    public static let maxCount = 1 << 53
    /// Largest batch size and sequence length: 2^24, the bound of every model dimension.
    public static let maxBatchDimension = 1 << 24

    /// The first problem with these numbers as a phrase naming the attribute, or `nil`.
    public func problem() -> String? {
        let named = [("step", step, Self.maxCount), ("tokens_seen", tokensSeen, Self.maxCount),
                     ("batch_size", batchSize, Self.maxBatchDimension), ("seq_len", seqLen, Self.maxBatchDimension),
                     ("seed", seed, Int.max), ("data_cursor", dataCursor, Self.maxCount)]
        for (name, value, bound) in named where value < 0 || value > bound {
            return "\(name) is \(value); it must be between 0 and \(bound)"
        }
        if rngState.count > Self.maxRNGStateBytes {
            return "rng_state has \(rngState.count) bytes, above the sane bound \(Self.maxRNGStateBytes)"
        }
        return nil
    }
}

/// The loss curve so far, stored as the 1-D datasets of `/history`: one entry
/// per logged step, in order, all four arrays of equal length.
public struct TrainingHistory: Sendable, Hashable, Codable {
    public var step: [Int]
    public var loss: [Double]
    public var lr: [Double]
    public var tokens: [Int]

    public init(step: [Int] = [], loss: [Double] = [], lr: [Double] = [], tokens: [Int] = []) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.tokens = tokens
    }

    public var count: Int { step.count }

    public mutating func append(step: Int, loss: Double, lr: Double, tokens: Int) {
        self.step.append(step)
        self.loss.append(loss)
        self.lr.append(lr)
        self.tokens.append(tokens)
    }

    /// The first problem as a phrase, or `nil`.
    public func problem() -> String? {
        let counts = [step.count, loss.count, lr.count, tokens.count]
        if Set(counts).count != 1 {
            return "its datasets step, loss, lr, tokens have different lengths \(counts); they must be equal"
        }
        // Bounded like TrainerPosition's counts, so that differences and sums of
        // logged steps (the planner's slope) cannot overflow.
        for (name, values) in [("step", step), ("tokens", tokens)] {
            if let index = values.firstIndex(where: { $0 < 0 || $0 > TrainerPosition.maxCount }) {
                return "\(name)[\(index)] is \(values[index]); it must be between 0 and \(TrainerPosition.maxCount)"
            }
        }
        return nil
    }
}
