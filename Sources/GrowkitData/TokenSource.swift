/// A token id as the samplers hand it to the model (llm.c also uses 32-bit ids).
public typealias TokenID = Int32

/// A read-only sequence of token ids backed by one data file (or a contiguous
/// part of it, see ``slice(_:)`` and ``split(validationFraction:)``).
///
/// Plain files (`text`, `uint16`) are read from disk on demand with `pread`,
/// so a multi-gigabyte nanoGPT `train.bin` costs no memory; zstd files are
/// decompressed once into memory, up to ``defaultMaxDecompressedBytes``.
/// Token `i` of the file is byte `i` (text) or the little-endian uint16 at
/// bytes `2i, 2i+1` (uint16), independent of the host's byte order.
public struct TokenSource: Sendable {
    /// 1 GiB: the Jargon File is 1.4 MB; a larger corpus should be decompressed to disk.
    public static let defaultMaxDecompressedBytes = 1 << 30

    /// The file as given by the caller (used verbatim in every error message).
    public let path: String
    public let format: TokenFileFormat
    /// The tokens of the file this source covers, as offsets into the whole file.
    public let tokenRange: Range<Int>
    /// The token count of the whole file (before any slicing).
    public let fileTokenCount: Int
    private let storage: Storage

    /// The number of tokens in this source.
    public var count: Int { tokenRange.count }

    private enum Storage: Sendable {
        case file(ReadOnlyFile)
        case memory([UInt8])
    }

    /// Opens a data file.
    ///
    /// - Parameters:
    ///   - format: an explicit format; `nil` detects it (``TokenFileFormat/detect(path:leadingBytes:)``:
    ///     zstd by its frame magic, uint16 by a `.bin` name, otherwise text).
    ///   - maxDecompressedBytes: zstd files decompressing to more than this are refused.
    /// - Throws: ``DataError`` for a missing or unreadable file, an odd-length uint16 file,
    ///   a corrupt or truncated or oversized zstd stream.
    public init(path: String, format: TokenFileFormat? = nil,
                maxDecompressedBytes: Int = TokenSource.defaultMaxDecompressedBytes) throws(DataError) {
        let file = try ReadOnlyFile(path: path)
        let chosen: TokenFileFormat
        if let format {
            chosen = format
            if format.isZstdCompressed, try file.readBytes(at: 0, count: 4) != TokenFileFormat.zstdMagic {
                throw .notZstd(path: path)
            }
        } else {
            chosen = try TokenFileFormat.detect(path: path, leadingBytes: file.readBytes(at: 0, count: 4))
        }
        let byteCount: Int
        if chosen.isZstdCompressed {
            let bytes = try ZstdDecoder.decompress(file, limit: maxDecompressedBytes)
            storage = .memory(bytes)
            byteCount = bytes.count
        } else {
            storage = .file(file)
            byteCount = file.size
        }
        if chosen.encoding == .uint16 && byteCount % 2 != 0 {
            throw .oddByteCount(path: path, bytes: byteCount)
        }
        self.path = path
        self.format = chosen
        self.fileTokenCount = byteCount / chosen.tokenWidth
        self.tokenRange = 0..<fileTokenCount
    }

    private init(_ base: TokenSource, tokenRange: Range<Int>) {
        path = base.path
        format = base.format
        fileTokenCount = base.fileTokenCount
        storage = base.storage
        self.tokenRange = tokenRange
    }

    /// The sub-sequence `range` of this source (offsets relative to this source).
    public func slice(_ range: Range<Int>) throws(DataError) -> TokenSource {
        guard range.lowerBound >= 0 && range.upperBound <= count else {
            throw .invalidArgument(name: "token range of \(path)", value: "\(range.lowerBound)..<\(range.upperBound)",
                                   requirement: "inside 0..<\(count)")
        }
        return TokenSource(self, tokenRange: (tokenRange.lowerBound + range.lowerBound)..<(tokenRange.lowerBound + range.upperBound))
    }

    /// Deterministic held-out split: the last `floor(count * validationFraction)` tokens
    /// are the validation part, everything before them the training part.
    ///
    /// The two parts do not overlap: a training window never reads a validation
    /// token, not even as a target. `growkit` uses `validationFraction = 0.1`
    /// (the last 10% of the file) when it needs a validation set.
    public func split(validationFraction: Double) throws(DataError) -> (train: TokenSource, validation: TokenSource) {
        guard validationFraction > 0 && validationFraction < 1 else {
            throw .invalidArgument(name: "validation fraction", value: "\(validationFraction)", requirement: "strictly between 0 and 1")
        }
        let validationCount = Int((Double(count) * validationFraction).rounded(.down))
        guard validationCount > 0 && validationCount < count else {
            throw .invalidArgument(name: "validation split of \(path) (\(count) tokens)", value: "\(validationCount) tokens",
                                   requirement: "at least one token and fewer than the whole file")
        }
        let cut = count - validationCount
        return (TokenSource(self, tokenRange: tokenRange.lowerBound..<(tokenRange.lowerBound + cut)),
                TokenSource(self, tokenRange: (tokenRange.lowerBound + cut)..<tokenRange.upperBound))
    }

    /// Writes tokens `start ..< start + destination.count` of this source into `destination`.
    public func copyTokens(from start: Int, into destination: UnsafeMutableBufferPointer<TokenID>) throws(DataError) {
        let n = destination.count
        guard start >= 0 && n <= count - start else {
            throw .invalidArgument(name: "token window of \(path)", value: "\(start)..<\(start + n)", requirement: "inside 0..<\(count)")
        }
        if n == 0 { return }
        let width = format.tokenWidth
        let byteStart = (tokenRange.lowerBound + start) * width
        switch storage {
        case .memory(let bytes):
            bytes.withUnsafeBytes { raw in decode(UnsafeRawBufferPointer(rebasing: raw[byteStart..<(byteStart + n * width)]), width: width, into: destination) }
        case .file(let file):
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: n * width, alignment: 8)
            defer { raw.deallocate() }
            try file.read(at: byteStart, into: raw)
            decode(UnsafeRawBufferPointer(raw), width: width, into: destination)
        }
    }

    /// Tokens `range` of this source as an array.
    public func tokens(_ range: Range<Int>) throws(DataError) -> [TokenID] {
        var result = [TokenID](repeating: 0, count: range.count)
        try result.withUnsafeMutableBufferPointer { buffer throws(DataError) in try copyTokens(from: range.lowerBound, into: buffer) }
        return result
    }

    /// Checks that every token id is below `vocabSize`, reading in 1 Mi-token chunks.
    ///
    /// A text file (ids 0...255) needs no scan when `vocabSize >= 256`, nor a
    /// uint16 file when `vocabSize >= 65536`.
    /// - Throws: ``DataError/tokenOutOfRange(path:tokenOffset:byteOffset:token:vocabSize:compressed:)``
    ///   for the first offending token, with its offset in the whole (decompressed) file.
    public func validate(vocabSize: Int) throws(DataError) {
        guard vocabSize >= 1 else {
            throw .invalidArgument(name: "vocab_size", value: "\(vocabSize)", requirement: "a positive integer")
        }
        if vocabSize >= format.encodableVocabSize { return }
        let chunk = 1 << 20
        var buffer = [TokenID](repeating: 0, count: chunk)
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let firstBad = try buffer.withUnsafeMutableBufferPointer { whole throws(DataError) -> Int? in
                let part = UnsafeMutableBufferPointer(rebasing: whole[0..<n])
                try copyTokens(from: start, into: part)
                return part.firstIndex { Int($0) >= vocabSize }
            }
            if let bad = firstBad {
                let tokenOffset = tokenRange.lowerBound + start + bad
                throw .tokenOutOfRange(path: path, tokenOffset: tokenOffset, byteOffset: tokenOffset * format.tokenWidth,
                                       token: Int(buffer[bad]), vocabSize: vocabSize, compressed: format.isZstdCompressed)
            }
            start += n
        }
    }
}

/// Bytes to token ids: one byte each, or little-endian uint16 pairs.
private func decode(_ raw: UnsafeRawBufferPointer, width: Int, into destination: UnsafeMutableBufferPointer<TokenID>) {
    let bytes = raw.assumingMemoryBound(to: UInt8.self)
    if width == 1 {
        for i in 0..<destination.count { destination[i] = TokenID(bytes[i]) }
    } else {
        for i in 0..<destination.count { destination[i] = TokenID(UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8) }
    }
}
