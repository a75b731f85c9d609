import Foundation
import GrowkitCheckpoint
import GrowkitState

/// `inspect --json`: the text report's content as one JSON document (snake_case
/// keys as in the file; non-finite numbers as null).
enum InspectJSON {
    static func document(_ reader: CheckpointReader, statistics: [(StoredTensorInfo, TensorStatistics)]?, verification: VerificationReport?) throws(JSONOutputError) -> String {
        let c = reader.config, o = reader.optimizer, s = reader.schedule, t = reader.trainer, h = reader.history
        let summary = reader.summary
        let config = configObject(c)
        let tensors: [JSONValue] = reader.tensors.map { info in
            .object([
                "path": .string(info.path), "parameter": .string(info.parameter), "role": .string(info.role.rawValue),
                "shape": .array(info.shape.map(int)), "dtype": .string(info.elementType.rawValue),
                "chunks": info.chunkShape.map { .array($0.map(int)) } ?? .null,
                "zstd_level": info.zstdLevel.map(int) ?? .null, "fletcher32": .bool(info.fletcher32),
                "stored_bytes": int(info.storedBytes),
            ])
        }
        var scheduleObject: [String: JSONValue] = [
            "kind": .string(s.kind.rawValue), "peak_lr": real(s.peakLR), "min_lr": real(s.minLR),
            "warmup_steps": int(s.warmupSteps), "total_steps": int(s.totalSteps),
            "lr_at_trainer_step": real(summary.nextLearningRate),
        ]
        if s.kind == .wsd { scheduleObject["decay_steps"] = int(s.decaySteps) }
        if let start = s.rewarmStart, let steps = s.rewarmSteps {
            scheduleObject["rewarm_start"] = int(start)
            scheduleObject["rewarm_steps"] = int(steps)
        }
        var document: [String: JSONValue] = [
            "file": .string(reader.path),
            "format_version": int(reader.formatVersion),
            "growkit_version": reader.growkitVersion.map(JSONValue.string) ?? .null,
            "config": config,
            "parameter_count": int(summary.parameterCount),
            "weights_only": .bool(reader.isWeightsOnly),
            "tensors": .array(tensors),
            "optimizer": .object([
                "type": .string("adamw"), "lr": real(o.lr), "beta1": real(o.beta1), "beta2": real(o.beta2),
                "eps": real(o.eps), "weight_decay": real(o.weightDecay),
                "step_min": int(summary.stepRange.lowerBound), "step_max": int(summary.stepRange.upperBound),
                "decaying": .array(summary.decaying.map(JSONValue.string)),
                "not_decaying": .array(summary.notDecaying.map(JSONValue.string)),
            ]),
            "schedule": .object(scheduleObject),
            "trainer": .object([
                "step": int(t.step), "tokens_seen": int(t.tokensSeen), "batch_size": int(t.batchSize),
                "seq_len": int(t.seqLen), "seed": int(t.seed), "data_cursor": int(t.dataCursor),
                "rng_generator": .string(t.generator), "rng_state_bytes": int(t.rngState.count),
            ]),
            "history": .object([
                "length": int(h.count),
                "first_step": h.step.first.map(int) ?? .null, "last_step": h.step.last.map(int) ?? .null,
                "first_loss": h.loss.first.map(real) ?? .null, "last_loss": h.loss.last.map(real) ?? .null,
            ]),
            "provenance": .array(reader.provenance.map(recordObject)),
        ]
        if reader.isWeightsOnly {
            // Nothing stored: null rather than the defaults a reader fills in.
            for key in ["optimizer", "schedule", "trainer", "history"] { document[key] = .null }
        }
        if let statistics {
            document["statistics"] = .array(statistics.map { info, s in
                .object([
                    "path": .string(info.path), "count": int(s.count), "mean": real(s.mean), "std": real(s.std),
                    "rms": real(s.rms), "min": s.min.map { real(Double($0)) } ?? .null,
                    "max": s.max.map { real(Double($0)) } ?? .null, "nan_count": int(s.nanCount), "inf_count": int(s.infCount),
                ])
            })
        }
        if let verification {
            // "ok" only when every tensor carries a checksum and all passed; otherwise
            // the tensors that have none (they were read, not checked).
            document["verify"] = verification.unchecked.isEmpty ? .string("ok") : .object([
                "checksummed_tensors": int(verification.checksummed),
                "tensors_without_checksum": .array(verification.unchecked.map(JSONValue.string)),
                "tensors_never_written": int(verification.neverWritten),
            ])
        }
        // real() maps non-finite numbers to null, so this only fails on a bug; it then says so.
        return try JSONOutput.string(JSONValue.object(document), command: "growkit inspect")
    }

    static func configObject(_ c: ModelConfig) -> JSONValue {
        .object([
            "family": .string(c.family.rawValue), "vocab_size": int(c.vocabSize), "hidden_size": int(c.hiddenSize),
            "num_layers": int(c.numLayers), "num_heads": int(c.numHeads), "num_kv_heads": int(c.numKVHeads),
            "head_dim": int(c.headDim), "intermediate_size": int(c.intermediateSize), "max_position": int(c.maxPosition),
            "norm": .string(c.norm.rawValue), "norm_eps": real(c.normEps), "activation": .string(c.activation.rawValue),
            "position": .string(c.position.rawValue), "rope_theta": real(c.ropeTheta),
            "tie_embeddings": .bool(c.tieEmbeddings), "attention_bias": .bool(c.attentionBias), "mlp_bias": .bool(c.mlpBias),
        ])
    }

    static func recordObject(_ record: ProvenanceRecord) -> JSONValue {
        .object([
            "operator": .string(record.operatorName), "arguments": .object(record.arguments),
            "source": record.source.map(JSONValue.string) ?? .null,
            "source_sha256": record.sourceSHA256.map(JSONValue.string) ?? .null,
            "verification": record.verification ?? .null, "tool_version": .string(record.toolVersion),
            "time": .string(record.time),
        ])
    }

    static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    static func real(_ value: Double) -> JSONValue { value.isFinite ? .number(value) : .null }
}
