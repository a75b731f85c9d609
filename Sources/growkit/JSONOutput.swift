import Foundation

/// The `--json` documents of every command: pretty-printed, keys sorted,
/// slashes unescaped, so scripts and diffs see the same layout everywhere.
enum JSONOutput {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A relative error over a zero denominator is infinite: written as a string, never a failure.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
