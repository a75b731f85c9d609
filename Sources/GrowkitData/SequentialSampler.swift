/// Batches read in file order from a token cursor (the trainer's `data_cursor`).
///
/// With `N` tokens in the source and a cursor `c` (in tokens), each row in turn:
/// 1. wraps: if `c + T + 1 > N` (the window would run past the end) then `c = 0`;
/// 2. takes the window `x[c ..< c + T + 1]` (inputs `x[c ..< c+T]`, targets `x[c+1 ..< c+T+1]`);
/// 3. advances `c += T`, so the next row's first input is this row's last target.
///
/// The rule is per row and does not involve `B`: for a fixed `T`, any sequence of
/// batch sizes reads the same windows in the same order (two batches of 4 rows
/// equal one of 8), so changing the batch size on resume neither repeats nor
/// skips data. Every token from 1 to the last full window is a target exactly
/// once per pass; at a wrap the tail of fewer than `T + 1` tokens is not read
/// in that pass. ``cursor`` is always in `0 ..< N` and is what a checkpoint stores.
public struct SequentialSampler: Sendable {
    public let source: TokenSource
    public let batchSize: Int
    public let seqLen: Int
    /// The offset of the next row's window (before the wrap check of step 1).
    public private(set) var cursor: Int
    /// How many times the cursor wrapped to the start since this sampler was made.
    public private(set) var wraps: Int = 0

    /// - Throws: ``DataError`` when `batchSize` or `seqLen` is not positive, when the source is
    ///   shorter than `seqLen + 1` tokens, or when `cursor` is negative or beyond the source
    ///   (a cursor saved for another data file).
    public init(source: TokenSource, batchSize: Int, seqLen: Int, cursor: Int = 0) throws(DataError) {
        try BatchShape.check(source: source, batchSize: batchSize, seqLen: seqLen)
        guard cursor >= 0 && cursor <= source.count else {
            throw .invalidArgument(name: "data_cursor", value: "\(cursor)",
                                   requirement: "between 0 and the \(source.count) tokens of \(source.path) (was it saved for another data file?)")
        }
        self.source = source
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.cursor = cursor
    }

    /// The next `batchSize` rows; advances ``cursor`` by `batchSize * seqLen` modulo the wraps.
    public mutating func next() throws(DataError) -> TokenBatch {
        var starts = [Int]()
        starts.reserveCapacity(batchSize)
        for _ in 0..<batchSize {
            if cursor + seqLen + 1 > source.count {
                cursor = 0
                wraps += 1
            }
            starts.append(cursor)
            cursor += seqLen
        }
        return try TokenBatch(source: source, seqLen: seqLen, windowStarts: starts)
    }
}
