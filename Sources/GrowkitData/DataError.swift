/// Errors of the data layer. Every case renders as one sentence (no newline)
/// that names the file, what is wrong and what to do, for the CLI to print as is.
public enum DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be opened or read (`reason` is the system's message).
    case unreadable(path: String, reason: String)
    /// A uint16 token file whose byte count is odd: it cannot be whole 16-bit tokens.
    case oddByteCount(path: String, bytes: Int)
    /// The caller (or the extension) said zstd, but the file does not start with the frame magic.
    case notZstd(path: String)
    /// libzstd rejected the stream (`reason` is `ZSTD_getErrorName`).
    case corruptZstd(path: String, reason: String)
    /// The compressed input ended inside a frame.
    case truncatedZstd(path: String, decompressedBytes: Int)
    /// Decompressing would produce more than `limit` bytes; refused before allocating them.
    case decompressedTooLarge(path: String, limit: Int)
    /// A token id at or above the vocabulary size.
    case tokenOutOfRange(path: String, tokenOffset: Int, byteOffset: Int, token: Int, vocabSize: Int, compressed: Bool)
    /// Fewer tokens than one training window of `seqLen + 1` tokens.
    case tooShort(path: String, tokens: Int, seqLen: Int)
    /// A format name given on the command line that is not one of ``TokenFileFormat/names``.
    case unknownFormat(String)
    /// An argument (batch size, sequence length, cursor, fraction, ...) outside its valid range.
    case invalidArgument(name: String, value: String, requirement: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            "data file \(path) does not exist; check the path."
        case .unreadable(let path, let reason):
            "data file \(path) could not be read (\(reason)); check that it is a readable regular file."
        case .oddByteCount(let path, let bytes):
            "uint16 token file \(path) has an odd byte count (\(bytes)), so it is not a whole number of 16-bit tokens; it is truncated or not a token file (pass --format text to read it as bytes)."
        case .notZstd(let path):
            "data file \(path) was to be read as zstd but does not start with the zstd frame magic 28 B5 2F FD; check the file or pass --format text or --format uint16."
        case .corruptZstd(let path, let reason):
            "zstd data file \(path) is corrupt (libzstd: \(reason)); re-create or re-download it."
        case .truncatedZstd(let path, let bytes):
            "zstd data file \(path) ends in the middle of a frame after \(bytes) decompressed bytes; the file is truncated, re-create or re-download it."
        case .decompressedTooLarge(let path, let limit):
            "zstd data file \(path) decompresses to more than \(limit) bytes, the in-memory limit; decompress it to a plain file (zstd -d) so it is read from disk instead."
        case .tokenOutOfRange(let path, let tokenOffset, let byteOffset, let token, let vocabSize, let compressed):
            "data file \(path) has token id \(token) at token offset \(tokenOffset) (byte offset \(byteOffset)\(compressed ? " of the decompressed data" : "")), not below the model's vocab_size \(vocabSize); use data tokenized for this model's vocabulary."
        case .tooShort(let path, let tokens, let seqLen):
            "data file \(path) has \(tokens) tokens, fewer than one window of seq_len + 1 = \(seqLen + 1) tokens; use a longer file or a shorter sequence length."
        case .unknownFormat(let name):
            "unknown data format '\(name)'; use one of \(TokenFileFormat.names.joined(separator: ", "))."
        case .invalidArgument(let name, let value, let requirement):
            "\(name) is \(value); it must be \(requirement)."
        }
    }
}
