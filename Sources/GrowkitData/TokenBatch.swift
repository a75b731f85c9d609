/// One training or evaluation batch: `inputs` and `targets` of shape `[B, T]`,
/// row-major (`inputs[b * T + t]`).
///
/// Row `b` is a window of `T + 1` consecutive tokens `x[s_b ..< s_b + T + 1]`
/// of the source; `inputs[b, t] = x[s_b + t]` and `targets[b, t] = x[s_b + t + 1]`:
/// the target at every position is the token that follows the input there, the
/// next-token prediction the loss `-(1/BT) sum log p(targets[b,t] | inputs[b, ..t])` scores.
public struct TokenBatch: Sendable, Equatable {
    /// `B`, the number of rows.
    public let batchSize: Int
    /// `T`, the number of positions per row.
    public let seqLen: Int
    /// `[B, T]` input token ids.
    public var inputs: [TokenID]
    /// `[B, T]` target token ids: `inputs` shifted left by one within each window.
    public var targets: [TokenID]
    /// `s_b`: the offset in the source of each row's first input token.
    public var windowStarts: [Int]

    /// Reads the `T + 1`-token window at each of `starts` from `source`.
    init(source: TokenSource, seqLen: Int, windowStarts starts: [Int]) throws(DataError) {
        let rows = starts.count, window = seqLen + 1
        var inputs = [TokenID](repeating: 0, count: rows * seqLen)
        var targets = [TokenID](repeating: 0, count: rows * seqLen)
        var scratch = [TokenID](repeating: 0, count: window)
        for (row, start) in starts.enumerated() {
            try scratch.withUnsafeMutableBufferPointer { buffer throws(DataError) in try source.copyTokens(from: start, into: buffer) }
            for t in 0..<seqLen {
                inputs[row * seqLen + t] = scratch[t]
                targets[row * seqLen + t] = scratch[t + 1]
            }
        }
        self.batchSize = rows
        self.seqLen = seqLen
        self.inputs = inputs
        self.targets = targets
        self.windowStarts = starts
    }

    /// Row `b` of the inputs.
    public func inputRow(_ b: Int) -> ArraySlice<TokenID> { inputs[(b * seqLen)..<((b + 1) * seqLen)] }
    /// Row `b` of the targets.
    public func targetRow(_ b: Int) -> ArraySlice<TokenID> { targets[(b * seqLen)..<((b + 1) * seqLen)] }
}

/// The batch shape checks shared by both samplers.
enum BatchShape {
    /// 2^31 tokens per batch: far above anything that fits a forward pass on one machine.
    static let maxBatchTokens = 1 << 31

    static func check(source: TokenSource, batchSize: Int, seqLen: Int) throws(DataError) {
        guard batchSize >= 1 else { throw .invalidArgument(name: "batch size", value: "\(batchSize)", requirement: "a positive integer") }
        guard seqLen >= 1 else { throw .invalidArgument(name: "sequence length", value: "\(seqLen)", requirement: "a positive integer") }
        let (tokens, overflow) = batchSize.multipliedReportingOverflow(by: seqLen)
        guard !overflow && tokens <= maxBatchTokens else {
            throw .invalidArgument(name: "batch size x sequence length", value: "\(batchSize) x \(seqLen)",
                                   requirement: "at most \(maxBatchTokens) tokens per batch")
        }
        guard source.count >= seqLen + 1 else { throw .tooShort(path: source.path, tokens: source.count, seqLen: seqLen) }
    }
}
