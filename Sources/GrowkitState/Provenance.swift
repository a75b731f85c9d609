import Foundation

/// Any JSON value: the free-form parts of a provenance record (`arguments`,
/// `verification`). Numbers are kept as `Double`, as JSON itself does.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// One transformation ever applied to a training state, oldest first in
/// `/provenance/records` (one JSON object per string). Keys are snake_case:
/// `operator`, `arguments`, `source`, `source_sha256`, `verification`,
/// `tool_version`, `time` (ISO 8601 UTC), and `growth` on records of `grow`.
public struct ProvenanceRecord: Sendable, Hashable, Codable {
    /// What was done, e.g. `grow`, `train`, `convert`, `make-fixture`.
    public var operatorName: String
    /// The operator's arguments as given (a JSON object).
    public var arguments: [String: JSONValue]
    /// File name of the input, or `nil` when the state was created from nothing.
    public var source: String?
    /// SHA-256 of the input file's bytes, lowercase hex, or `nil` with no input.
    public var sourceSHA256: String?
    /// The verification result (a JSON object), or `nil` when none was run.
    public var verification: JSONValue?
    public var toolVersion: String
    /// What a growth did (``GrowthRecord``), on records of `grow` only.
    public var growth: GrowthRecord?
    /// ISO 8601 UTC, e.g. `2026-11-23T18:55:16Z`.
    public var time: String

    public init(operatorName: String, arguments: [String: JSONValue] = [:], source: String? = nil,
                sourceSHA256: String? = nil, verification: JSONValue? = nil, toolVersion: String,
                growth: GrowthRecord? = nil, time: String) {
        self.operatorName = operatorName
        self.arguments = arguments
        self.source = source
        self.sourceSHA256 = sourceSHA256
        self.verification = verification
        self.toolVersion = toolVersion
        self.growth = growth
        self.time = time
    }

    enum CodingKeys: String, CodingKey {
        case operatorName = "operator", arguments, source, sourceSHA256 = "source_sha256"
        case verification, toolVersion = "tool_version", growth, time
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        operatorName = try container.decode(String.self, forKey: .operatorName)
        arguments = try container.decode([String: JSONValue].self, forKey: .arguments)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        sourceSHA256 = try container.decodeIfPresent(String.self, forKey: .sourceSHA256)
        verification = try container.decodeIfPresent(JSONValue.self, forKey: .verification)
        if verification == .null { verification = nil }
        toolVersion = try container.decode(String.self, forKey: .toolVersion)
        growth = try container.decodeIfPresent(GrowthRecord.self, forKey: .growth)
        time = try container.decode(String.self, forKey: .time)
    }

    /// Every key is always written (absent values as JSON `null`), so the record
    /// has the same shape for every reader; `growth` only on records of growth.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(operatorName, forKey: .operatorName)
        try container.encode(arguments, forKey: .arguments)
        try container.encode(source, forKey: .source)
        try container.encode(sourceSHA256, forKey: .sourceSHA256)
        try container.encode(verification ?? .null, forKey: .verification)
        try container.encode(toolVersion, forKey: .toolVersion)
        try container.encodeIfPresent(growth, forKey: .growth)
        try container.encode(time, forKey: .time)
    }

    /// The record as one line of compact JSON with sorted keys (the stored form).
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and dictionaries cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one stored record; `nil` when it is not a JSON object with the required keys.
    public init?(jsonString: String) {
        guard let record = try? JSONDecoder().decode(ProvenanceRecord.self, from: Data(jsonString.utf8)) else { return nil }
        self = record
    }

    /// The current time as ISO 8601 UTC with seconds, for `time`.
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}
