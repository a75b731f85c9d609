import Foundation
import GrowkitTraining
import Testing

/// `ModelConfigFile.rules` against schemas/model-config-v1.schema.json itself: same required fields
/// in the same order, same enums, same integer bounds, same kinds.
@Suite("Model config file rules follow the JSON Schema")
struct ModelConfigFileTests {
    @Test func rulesMatchTheSchemaFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/model-config-v1.schema.json")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        let required = try #require(schema["required"] as? [String])
        #expect(required == ModelConfigFile.rules.map(\.name))
        let properties = try #require(schema["properties"] as? [String: [String: Any]])
        let defs = try #require(schema["$defs"] as? [String: [String: Any]])
        for (name, rule) in ModelConfigFile.rules {
            let property = try #require(properties[name])
            let ref = (property["$ref"] as? String)?.replacingOccurrences(of: "#/$defs/", with: "")
            let value = (property["properties"] as? [String: Any])?["value"] as? [String: Any]
            switch rule {
            case .string(let allowed):
                #expect(ref == "enumString")
                #expect(value?["enum"] as? [String] == allowed, "\(name)")
            case .integer(let lo, let hi):
                let bounds = value ?? ((defs[ref ?? ""]?["properties"] as? [String: Any])?["value"] as? [String: Any])
                #expect(bounds?["minimum"] as? Int == lo && bounds?["maximum"] as? Int == hi, "\(name)")
            case .positiveReal:
                #expect(ref == "positiveReal", "\(name)")
            case .boolean:
                #expect(ref == "boolean", "\(name)")
            }
        }
    }

    @Test func aValidFileParsesAndAnUnknownFieldIsNamed() throws {
        let good = #"{"family": "llama", "vocab_size": 256, "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "head_dim": 8, "intermediate_size": 48, "max_position": 64, "norm": "rmsnorm", "norm_eps": 1e-5, "activation": "swiglu", "position": "rope", "rope_theta": 10000, "tie_embeddings": false, "attention_bias": 0, "mlp_bias": false}"#
        let config = try ModelConfigFile.parse(Data(good.utf8), path: "c.json")
        #expect(config.numKVHeads == 2 && config.headDim == 8 && !config.attentionBias)
        let typo = good.replacingOccurrences(of: "\"mlp_bias\"", with: "\"mlp_biass\"")
        #expect(throws: TrainingError.invalidConfigFile(path: "c.json", field: "mlp_biass", problem:
            "is not a model config field (the fields are \(ModelConfigFile.rules.map(\.name).joined(separator: ", ")))")) {
            try ModelConfigFile.parse(Data(typo.utf8), path: "c.json")
        }
        let heads = good.replacingOccurrences(of: "\"num_kv_heads\": 2", with: "\"num_kv_heads\": 3")
        #expect(throws: TrainingError.self) { try ModelConfigFile.parse(Data(heads.utf8), path: "c.json") }
    }
}
