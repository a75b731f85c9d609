import Foundation

/// The `--json` documents of every command: pretty-printed, keys sorted,
/// slashes unescaped, so scripts and diffs see the same layout everywhere.
enum JSONOutput {
    /// The document, or one sentence naming the field that cannot be written
    /// (JSON has no NaN or infinity; callers map such figures to null or refuse
    /// them with their own reason first, so this is the last line of defence).
    static func string(_ value: some Encodable, command: String = "growkit") throws(JSONOutputError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch let EncodingError.invalidValue(value, context) {
            throw JSONOutputError(command: command, field: fieldName(context.codingPath), value: "\(value)")
        } catch {
            throw JSONOutputError(command: command, field: "the document", value: String(describing: type(of: error)))
        }
    }

    /// Encodes without printing: the first non-finite figure, or nil when all are finite.
    static func firstNonFinite(_ value: some Encodable) -> JSONOutputError? {
        do {
            _ = try string(value)
            return nil
        } catch {
            return error
        }
    }

    /// `plan.grow_step`, `batch_losses[3]`, ...
    static func fieldName(_ path: [any CodingKey]) -> String {
        var name = ""
        for key in path {
            if let index = key.intValue { name += "[\(index)]" } else { name += (name.isEmpty ? "" : ".") + key.stringValue }
        }
        return name.isEmpty ? "a figure" : name
    }
}

/// A figure that JSON cannot carry (NaN or infinity), as one sentence.
struct JSONOutputError: Error, CustomStringConvertible {
    var command: String
    var field: String
    var value: String

    var description: String {
        "\(command): \(field) came out as \(value), not a finite number, so it cannot be reported; the inputs are outside the range where its formula is finite."
    }
}
