import GrowkitCheckpoint
import GrowkitState

/// `inspect` of a Hugging Face folder or `.safetensors` file: a weights-only state. The
/// config (as growkit reads it), the safetensors tensors as stored, and the growth records
/// of a `growkit_provenance.json`. safetensors files carry no checksums, so there is no `--verify`.
enum InspectHuggingFace {
    static func text(_ model: HuggingFaceModel, provenance: [ProvenanceRecord]) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        let c = model.config
        let architecture = c.family == .gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM"
        line("\(model.path): Hugging Face model (\(architecture)), \(model.weights.files.count) safetensors file(s), weights only")
        line()
        line("config (\(model.configPath), as growkit reads it)")
        line("  family \(c.family.rawValue), vocab_size \(c.vocabSize), hidden_size \(c.hiddenSize), num_layers \(c.numLayers)")
        line("  num_heads \(c.numHeads), num_kv_heads \(c.numKVHeads), head_dim \(c.headDim), intermediate_size \(c.intermediateSize), max_position \(c.maxPosition)")
        line("  norm \(c.norm.rawValue) (eps \(c.normEps)), activation \(c.activation.rawValue), position \(c.position.rawValue) (rope_theta \(c.ropeTheta))")
        line("  tie_embeddings \(c.tieEmbeddings), attention_bias \(c.attentionBias), mlp_bias \(c.mlpBias)")
        line("  parameters: \(InspectText.grouped(c.parameterCount)) in \(model.specs.count) tensors")
        line()
        let entries = model.weights.files.flatMap { file in file.entries.map { (file.path, $0) } }
        line("tensors: \(entries.count) in safetensors")
        let rows = entries.map { file, entry in
            [entry.name, "\(entry.shape)", entry.dtype.rawValue, String(file.split(separator: "/").last ?? "")]
        }
        out += InspectText.table(header: ["name", "shape", "dtype", "file"], rows: rows, indent: "  ")
        line()
        line("weights only: no optimizer state, schedule, trainer position or history (train --resume starts a fresh AdamW)")
        line()
        line("provenance: \(provenance.count) record(s)" + (provenance.isEmpty ? "" : " (\(HuggingFaceProvenance.fileName))"))
        for (index, record) in provenance.enumerated() {
            line("  \(index + 1). \(record.time) \(record.operatorName) \(InspectText.compactJSON(.object(record.arguments))) from \(record.source ?? "nothing"), growkit \(record.toolVersion)")
        }
        return out
    }

    static func json(_ model: HuggingFaceModel, provenance: [ProvenanceRecord]) throws(JSONOutputError) -> String {
        let c = model.config
        let tensors: [JSONValue] = model.weights.files.flatMap { file in
            file.entries.map { entry in
                JSONValue.object(["name": .string(entry.name), "shape": .array(entry.shape.map(InspectJSON.int)),
                                  "dtype": .string(entry.dtype.rawValue), "file": .string(file.path)])
            }
        }
        let document: [String: JSONValue] = [
            "file": .string(model.path), "format": .string("huggingface"), "weights_only": .bool(true),
            "config": InspectJSON.configObject(c), "parameter_count": InspectJSON.int(c.parameterCount),
            "tensors": .array(tensors), "optimizer": .null, "schedule": .null, "trainer": .null, "history": .null,
            "provenance": .array(provenance.map(InspectJSON.recordObject)),
        ]
        return try JSONOutput.string(JSONValue.object(document), command: "growkit inspect")
    }
}
