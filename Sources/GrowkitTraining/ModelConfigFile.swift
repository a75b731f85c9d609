import Foundation
import GrowkitState

/// A model config as a JSON file (what `growkit train --config` reads): one object with the
/// attributes of `/config` (docs/FORMAT.md), e.g. `{"family": "gpt2", "vocab_size": 256, ...}`.
///
/// Each field is checked by the rule of `schemas/model-config-v1.schema.json` (``rules``, which a
/// test compares with the schema file): every field required, strings from their enums, integers
/// within `ModelConfig.Limits`, reals positive, booleans `true`/`false` (or 0/1, as the schema
/// allows). Unknown fields are refused too, so a misspelt one cannot silently fall back to
/// nothing. Then ``ModelConfig/validate()`` checks what relates fields (heads and kv heads, RoPE's
/// even head_dim).
public enum ModelConfigFile {
    public enum Rule: Sendable, Equatable {
        case string([String])
        case integer(minimum: Int, maximum: Int)
        case positiveReal
        case boolean
    }

    /// The schema's properties, in its `required` order.
    public static let rules: [(name: String, rule: Rule)] = {
        let dimension = Rule.integer(minimum: 1, maximum: ModelConfig.Limits.maxDimension)
        let count = Rule.integer(minimum: 1, maximum: ModelConfig.Limits.maxLayers)
        return [
            ("family", .string(ModelConfig.Family.allCases.map(\.rawValue))), ("vocab_size", dimension),
            ("hidden_size", dimension), ("num_layers", count), ("num_heads", count), ("num_kv_heads", count),
            ("head_dim", dimension), ("intermediate_size", dimension), ("max_position", dimension),
            ("norm", .string(ModelConfig.Norm.allCases.map(\.rawValue))), ("norm_eps", .positiveReal),
            ("activation", .string(ModelConfig.Activation.allCases.map(\.rawValue))),
            ("position", .string(ModelConfig.Position.allCases.map(\.rawValue))), ("rope_theta", .positiveReal),
            ("tie_embeddings", .boolean), ("attention_bias", .boolean), ("mlp_bias", .boolean),
        ]
    }()

    /// Reads and validates the config file at `path`.
    /// - Throws: ``TrainingError/invalidConfigFile(path:field:problem:)`` naming the first field that fails.
    public static func read(path: String) throws(TrainingError) -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfigFile(path: path, field: nil, problem: "cannot be read; check the path and its permissions")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws(TrainingError) -> ModelConfig {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw .invalidConfigFile(path: path, field: nil, problem: "is not a JSON object")
        }
        func fail(_ field: String, _ problem: String) -> TrainingError {
            .invalidConfigFile(path: path, field: field, problem: problem)
        }
        let known = Set(rules.map(\.name))
        if let extra = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail(extra, "is not a model config field (the fields are \(rules.map(\.name).joined(separator: ", ")))")
        }
        var strings: [String: String] = [:], ints: [String: Int] = [:], reals: [String: Double] = [:]
        var bools: [String: Bool] = [:]
        for (name, rule) in rules {
            guard let value = object[name] else { throw fail(name, "is missing; every field of the schema is required") }
            switch (rule, value) {
            case (.string(let allowed), .string(let s)):
                guard allowed.contains(s) else { throw fail(name, "is \"\(s)\"; it must be one of \(allowed.joined(separator: ", "))") }
                strings[name] = s
            case (.integer(let lo, let hi), .number(let x)):
                guard x.rounded() == x, let i = Int(exactly: x) else { throw fail(name, "is \(x); it must be an integer") }
                guard i >= lo && i <= hi else { throw fail(name, "is \(i); it must be between \(lo) and \(hi)") }
                ints[name] = i
            case (.positiveReal, .number(let x)):
                guard x > 0 && x.isFinite else { throw fail(name, "is \(x); it must be a positive number") }
                reals[name] = x
            case (.boolean, .bool(let b)):
                bools[name] = b
            case (.boolean, .number(let x)) where x == 0 || x == 1:
                bools[name] = x == 1
            default:
                throw fail(name, "has the wrong type; it must be \(describe(rule))")
            }
        }
        let config = ModelConfig(
            family: ModelConfig.Family(rawValue: strings["family"]!)!, vocabSize: ints["vocab_size"]!,
            hiddenSize: ints["hidden_size"]!, numLayers: ints["num_layers"]!, numHeads: ints["num_heads"]!,
            numKVHeads: ints["num_kv_heads"]!, headDim: ints["head_dim"]!, intermediateSize: ints["intermediate_size"]!,
            maxPosition: ints["max_position"]!, norm: ModelConfig.Norm(rawValue: strings["norm"]!)!,
            normEps: reals["norm_eps"]!, activation: ModelConfig.Activation(rawValue: strings["activation"]!)!,
            position: ModelConfig.Position(rawValue: strings["position"]!)!, ropeTheta: reals["rope_theta"]!,
            tieEmbeddings: bools["tie_embeddings"]!, attentionBias: bools["attention_bias"]!, mlpBias: bools["mlp_bias"]!)
        do { try config.validate() } catch {
            throw .invalidConfigFile(path: path, field: nil, problem: "fails the model's own checks: \(error)")
        }
        return config
    }

    static func describe(_ rule: Rule) -> String {
        switch rule {
        case .string(let allowed): "a string, one of \(allowed.joined(separator: ", "))"
        case .integer(let lo, let hi): "an integer between \(lo) and \(hi)"
        case .positiveReal: "a positive number"
        case .boolean: "true or false"
        }
    }
}
