import GrowkitRandom

/// Batches of windows at uniformly random offsets, deterministic for a seed.
///
/// Each row's start `s` is uniform in `0 ... N - T - 1` (every full `T + 1`
/// window equally likely), drawn from ``generator`` (xoshiro256**,
/// ``Xoshiro256StarStar/nextInt(below:)``) in row order, so the batches for a seed
/// never change with the Swift version. Rows may overlap; with `N` much larger
/// than `B T` they rarely do.
public struct RandomWindowSampler: Sendable {
    public let source: TokenSource
    public let batchSize: Int
    public let seqLen: Int
    /// The generator's current state (store ``Xoshiro256StarStar/stateBytes`` to resume).
    public private(set) var generator: Xoshiro256StarStar

    /// - Throws: ``DataError`` when `batchSize` or `seqLen` is not positive or the
    ///   source is shorter than `seqLen + 1` tokens.
    public init(source: TokenSource, batchSize: Int, seqLen: Int, seed: UInt64) throws(DataError) {
        try self.init(source: source, batchSize: batchSize, seqLen: seqLen, generator: Xoshiro256StarStar(seed: seed))
    }

    /// Resumes from a saved generator state.
    public init(source: TokenSource, batchSize: Int, seqLen: Int, generator: Xoshiro256StarStar) throws(DataError) {
        try BatchShape.check(source: source, batchSize: batchSize, seqLen: seqLen)
        self.source = source
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.generator = generator
    }

    /// The next `batchSize` random windows.
    public mutating func next() throws(DataError) -> TokenBatch {
        let positions = source.count - seqLen  // number of full windows, >= 1
        var starts = [Int]()
        starts.reserveCapacity(batchSize)
        for _ in 0..<batchSize { starts.append(generator.nextInt(below: positions)) }
        return try TokenBatch(source: source, seqLen: seqLen, windowStarts: starts)
    }
}
