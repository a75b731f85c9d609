/// How a data file's bytes become token ids.
///
/// | name         | bytes on disk                     | token width | vocab the file can express |
/// |--------------|-----------------------------------|-------------|----------------------------|
/// | `text`       | UTF-8 (or any) text               | 1 byte      | 256 (each byte is a token) |
/// | `text.zst`   | zstd-compressed text              | 1 byte      | 256                        |
/// | `uint16`     | flat little-endian uint16 (`.bin`)| 2 bytes     | 65536 (nanoGPT `train.bin`)|
/// | `uint16.zst` | zstd-compressed uint16 tokens     | 2 bytes     | 65536                      |
///
/// Text is not decoded or normalised: a multi-byte UTF-8 character is several
/// tokens, exactly as a byte-level model (vocab 256) sees it.
public struct TokenFileFormat: Sendable, Hashable, CustomStringConvertible {
    /// How each token is stored once decompressed.
    public enum Encoding: String, Sendable, Hashable {
        /// One byte per token, ids 0...255.
        case bytes
        /// Two bytes per token, little-endian, ids 0...65535.
        case uint16
    }

    public var encoding: Encoding
    /// Whether the file is a zstd stream (one or more frames) around the encoded tokens.
    public var isZstdCompressed: Bool

    public init(encoding: Encoding, isZstdCompressed: Bool) {
        self.encoding = encoding
        self.isZstdCompressed = isZstdCompressed
    }

    public static let text = TokenFileFormat(encoding: .bytes, isZstdCompressed: false)
    public static let zstdText = TokenFileFormat(encoding: .bytes, isZstdCompressed: true)
    public static let uint16 = TokenFileFormat(encoding: .uint16, isZstdCompressed: false)
    public static let zstdUInt16 = TokenFileFormat(encoding: .uint16, isZstdCompressed: true)

    /// Bytes per token: 1 for `bytes`, 2 for `uint16`.
    public var tokenWidth: Int { encoding == .bytes ? 1 : 2 }
    /// The number of distinct ids the encoding can hold: 256 or 65536.
    public var encodableVocabSize: Int { 1 << (8 * tokenWidth) }

    /// Canonical names accepted by ``init(name:)`` (the CLI's `--format`).
    public static let names = ["text", "text.zst", "uint16", "uint16.zst"]

    /// Parses a format name: the canonical ``names`` or the aliases `bytes`, `zst`, `zstd`, `bin`, `bin.zst`.
    public init(name: String) throws(DataError) {
        switch name.lowercased() {
        case "text", "bytes": self = .text
        case "text.zst", "zst", "zstd": self = .zstdText
        case "uint16", "bin": self = .uint16
        case "uint16.zst", "bin.zst": self = .zstdUInt16
        default: throw .unknownFormat(name)
        }
    }

    public var description: String {
        switch (encoding, isZstdCompressed) {
        case (.bytes, false): "text"
        case (.bytes, true): "text.zst"
        case (.uint16, false): "uint16"
        case (.uint16, true): "uint16.zst"
        }
    }

    /// The zstd frame magic number 0xFD2FB528, as it appears on disk (little-endian).
    public static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Chooses the format from the file's first bytes and its name.
    ///
    /// Compression is decided by content: a file is zstd exactly when it starts
    /// with ``zstdMagic`` (a `.zst` name without the magic is an error, not
    /// silently text). The encoding is decided by the name with any `.zst` or
    /// `.zstd` suffix removed: `.bin` means uint16 tokens, anything else text.
    public static func detect(path: String, leadingBytes: [UInt8]) throws(DataError) -> TokenFileFormat {
        let lower = path.lowercased()
        let hasZstdSuffix = lower.hasSuffix(".zst") || lower.hasSuffix(".zstd")
        let isZstd = leadingBytes.count >= 4 && Array(leadingBytes.prefix(4)) == zstdMagic
        if hasZstdSuffix && !isZstd { throw .notZstd(path: path) }
        var stem = lower
        if lower.hasSuffix(".zst") { stem.removeLast(4) } else if lower.hasSuffix(".zstd") { stem.removeLast(5) }
        let encoding: Encoding = stem.hasSuffix(".bin") ? .uint16 : .bytes
        return TokenFileFormat(encoding: encoding, isZstdCompressed: isZstd)
    }
}
