import ArgumentParser
import Foundation
import GrowkitCheckpoint
import GrowkitState

/// `growkit inspect CKPT`: what a checkpoint holds, from its metadata alone
/// (no tensor data is read unless `--stats` or `--verify` asks for it).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's tensors, config, optimizer, schedule, trainer, history and provenance.",
        discussion: """
            Reads only metadata unless asked: --stats reads every tensor (one at a time) \
            for mean, std, RMS, min, max and NaN/Inf counts; --verify reads every chunk \
            so HDF5's fletcher32 checksums catch corruption.
            """)

    @Argument(help: "A growkit checkpoint (HDF5, format v1), or a Hugging Face folder or .safetensors file (weights only).")
    var checkpoint: String

    @Flag(help: "Per-tensor statistics (reads every tensor).")
    var stats = false

    @Flag(help: "Read every chunk and check its fletcher32 checksum.")
    var verify = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        let reader: CheckpointReader
        switch try StateSource(path: checkpoint) {
        case .checkpoint(let opened):
            reader = opened
        case .huggingFace(let model):
            if verify {
                throw ValidationError("--verify checks HDF5 fletcher32 checksums, which safetensors files do not have; inspect a growkit state (growkit convert) to use it")
            }
            if stats {
                throw ValidationError("--stats reads growkit states only; convert the model first (growkit convert \(checkpoint) state.h5)")
            }
            let provenance = HuggingFaceProvenance.read(besides: model.configPath)
            if json {
                print(try InspectHuggingFace.json(model, provenance: provenance))
            } else {
                print(InspectHuggingFace.text(model, provenance: provenance), terminator: "")
            }
            return
        }
        var statistics: [(StoredTensorInfo, TensorStatistics)]? = nil
        if stats {
            let progress = TerminalProgress(plainLines: reader.tensorBytes.raw >= 64 << 20)
            statistics = try reader.tensorStatistics { progress.update("stats", $0) }
            progress.finish()
        }
        var verification: VerificationReport? = nil
        if verify {
            let progress = TerminalProgress(plainLines: reader.tensorBytes.raw >= 64 << 20)
            verification = try reader.verifyAllChunks { progress.update("verify", $0) }
            progress.finish()
        }
        if json {
            print(try InspectJSON.document(reader, statistics: statistics, verification: verification))
        } else {
            print(InspectText.report(reader, statistics: statistics, verification: verification), terminator: "")
        }
    }
}

/// The text report.
enum InspectText {
    static func report(_ reader: CheckpointReader, statistics: [(StoredTensorInfo, TensorStatistics)]?, verification: VerificationReport?) -> String {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        let c = reader.config, summary = reader.summary
        let writer = reader.growkitVersion.map { " (written by growkit \($0))" } ?? ""
        line("\(reader.path): growkit training state, format version \(reader.formatVersion)\(writer)"
             + (reader.isWeightsOnly ? ", weights only" : ""))
        line()
        line("config")
        line("  family \(c.family.rawValue), vocab_size \(c.vocabSize), hidden_size \(c.hiddenSize), num_layers \(c.numLayers)")
        line("  num_heads \(c.numHeads), num_kv_heads \(c.numKVHeads), head_dim \(c.headDim), intermediate_size \(c.intermediateSize), max_position \(c.maxPosition)")
        line("  norm \(c.norm.rawValue) (eps \(c.normEps)), activation \(c.activation.rawValue), position \(c.position.rawValue) (rope_theta \(c.ropeTheta))")
        line("  tie_embeddings \(c.tieEmbeddings), attention_bias \(c.attentionBias), mlp_bias \(c.mlpBias)")
        line("  parameters: \(grouped(summary.parameterCount)) in \(reader.specs.count) tensors")
        line()

        let (raw, stored) = reader.tensorBytes
        line("tensors: \(reader.isWeightsOnly ? "/params" : "/params, /optimizer/exp_avg, /optimizer/exp_avg_sq") (\(bytes(raw)) raw, \(bytes(stored)) stored)")
        let rows: [[String]] = reader.specs.map { spec in
            // The reader validated every tensor of the table at open, so these are
            // present; "?" marks the impossible case instead of failing the report.
            let value = Result { () throws(StateError) in try reader.info(spec.name, .parameter) }.successValue
            let moment = Result { () throws(StateError) in try reader.info(spec.name, .expAvg) }.successValue
            let attributes = Result { () throws(StateError) in try reader.momentAttributes(named: spec.name) }.successValue
            let absent = reader.isWeightsOnly ? "-" : "?"
            return [spec.storagePath, "\(spec.shape)", value?.elementType.rawValue ?? "?", moment?.elementType.rawValue ?? absent,
                    value.map(compression) ?? "?", value.map { $0.chunkShape.map { "\($0)" } ?? "contiguous" } ?? "?",
                    attributes.map { "\($0.step)" } ?? absent, attributes.map { $0.applyWeightDecay ? "yes" : "no" } ?? absent]
        }
        out += table(header: ["name", "shape", "dtype", "moments", "filters", "chunks", "step", "decay"], rows: rows, indent: "  ")
        line()

        if reader.isWeightsOnly {
            line("weights only: no optimizer state, schedule, trainer position or history (train --resume starts a fresh AdamW)")
            line()
        } else {
            let o = reader.optimizer
            line("optimizer: AdamW, lr \(real(o.lr)) (last update), betas (\(real(o.beta1)), \(real(o.beta2))), eps \(real(o.eps)), weight_decay \(real(o.weightDecay))")
            let range = summary.stepRange
            line(range.lowerBound == range.upperBound
                 ? "  step \(range.lowerBound) for every parameter"
                 : "  step from \(range.lowerBound) to \(range.upperBound) across parameters")
            let decayRule = summary.decayFollowsDefault ? " (matrices decay, vectors do not)" : ""
            line("  weight decay on \(summary.decaying.count) of \(reader.specs.count) parameters\(decayRule)")
            if !summary.decayFollowsDefault {
                line("    decaying: " + summary.decaying.joined(separator: ", "))
            }
            line()

            let s = reader.schedule
            var schedule = "schedule: \(s.kind.rawValue), peak_lr \(real(s.peakLR)), min_lr \(real(s.minLR)), warmup_steps \(s.warmupSteps), total_steps \(s.totalSteps)"
            if s.kind == .wsd { schedule += ", decay_steps \(s.decaySteps)" }
            if let start = s.rewarmStart, let steps = s.rewarmSteps { schedule += ", re-warmup over steps \(start)..<\(start + steps)" }
            line(schedule)
            line("  lr at step \(reader.trainer.step) (the next update): \(real(summary.nextLearningRate))")
            line()

            let t = reader.trainer
            line("trainer: step \(t.step), tokens_seen \(grouped(t.tokensSeen)), batch_size \(t.batchSize), seq_len \(t.seqLen), seed \(t.seed), data_cursor \(grouped(t.dataCursor))")
            line("  rng_state: \(t.rngState.count) bytes of \(t.generator)")
            line()

            let h = reader.history
            if let firstLoss = h.loss.first, let lastLoss = h.loss.last, let firstStep = h.step.first, let lastStep = h.step.last {
                line("history: \(h.count) entries, steps \(firstStep)...\(lastStep), loss \(String(format: "%.4f", firstLoss)) -> \(String(format: "%.4f", lastLoss))")
            } else {
                line("history: empty")
            }
            line()
        }

        line("provenance: \(reader.provenance.count) record(s)")
        for (index, record) in reader.provenance.enumerated() {
            let source = record.source.map { "from \($0)" + (record.sourceSHA256.map { " (sha256 \($0.prefix(12))...)" } ?? "") } ?? "from nothing"
            line("  \(index + 1). \(record.time) \(record.operatorName) \(compactJSON(.object(record.arguments))) \(source), growkit \(record.toolVersion)")
            if let verification = record.verification { line("     verification: \(compactJSON(verification))") }
        }

        if let statistics {
            line()
            line("statistics (finite elements; std is the population std)")
            let rows = statistics.map { info, s in
                [info.path, number(s.mean), number(s.std), number(s.rms), number(s.min.map(Double.init)),
                 number(s.max.map(Double.init)), "\(s.nanCount)", "\(s.infCount)"]
            }
            out += table(header: ["tensor", "mean", "std", "rms", "min", "max", "nan", "inf"], rows: rows, indent: "  ")
        }
        if let verification {
            line()
            let unstored = verification.neverWritten == 0 ? ""
                : " (\(verification.neverWritten) of them store no chunk: never written, they read as zeros)"
            if verification.unchecked.isEmpty {
                line("verify: OK, every chunk of \(reader.tensors.count) tensors (\(bytes(raw))) passed its fletcher32 checksum\(unstored)")
            } else {
                let shown = verification.unchecked.prefix(5).joined(separator: ", ")
                    + (verification.unchecked.count > 5 ? " and \(verification.unchecked.count - 5) more" : "")
                line("verify: \(reader.tensors.count) tensors (\(bytes(raw)))\(unstored): \(verification.checksummed) passed their fletcher32 checksums on every chunk, \(verification.unchecked.count) have no checksum and were only read, not checked: \(shown)")
            }
        }
        return out
    }

    /// Six significant digits: enough to compare with a trainer's log (`--json` has every digit).
    static func real(_ value: Double) -> String { String(format: "%.6g", value) }

    static func compression(_ info: StoredTensorInfo) -> String {
        var filters: [String] = []
        if let level = info.zstdLevel { filters.append("zstd \(level)") }
        if info.fletcher32 { filters.append("fletcher32") }
        return filters.isEmpty ? "none" : filters.joined(separator: "+")
    }

    static func table(header: [String], rows: [[String]], indent: String) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func render(_ cells: [String]) -> String {
            indent + cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ") + "\n"
        }
        return ([header] + rows).map(render).joined()
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.4g", value)
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func compactJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            // JSONValue holds only finite numbers (provenance is parsed JSON), so
            // this is unreachable; show a marker rather than fail the whole report.
            return "(not representable as JSON)"
        }
    }
}

extension Result {
    /// The value, or nil for a failure the caller has a marker for.
    var successValue: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
