import GrowkitCheckpoint
import GrowkitState

/// One stored tensor (a parameter or one of its Adam moments) compared across two states.
public struct TensorDiffEntry: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Same shape, every element bit-identical.
        case identical
        /// Same shape, some element differs.
        case changed
        /// Present in both with different shapes (e.g. after width growth); values not compared.
        case shapeChanged = "shape_changed"
        case onlyInA = "only_in_a"
        case onlyInB = "only_in_b"
    }

    /// Dotted parameter name.
    public var parameter: String
    /// `parameter`, `exp_avg` or `exp_avg_sq`.
    public var role: TensorRole
    public var status: Status
    public var shapeA: [Int]?
    public var shapeB: [Int]?
    /// The element-wise comparison, when both have the same shape.
    public var difference: TensorDifference?

    enum CodingKeys: String, CodingKey {
        case parameter, role, status, shapeA = "shape_a", shapeB = "shape_b", difference
    }
}

/// A scalar of the two states' metadata that differs (both rendered as text; `nil` where absent).
public struct FieldDifference: Sendable, Hashable, Codable {
    /// `config`, `optimizer`, `schedule`, `trainer`, `history`, `provenance`, or `adam` (a
    /// per-parameter `step` or `apply_weight_decay`).
    public var section: String
    /// The attribute as format v1 names it (`num_layers`, `peak_lr`, ...), or
    /// `<parameter> step` for per-parameter Adam attributes, `record <i>` for provenance.
    public var field: String
    public var a: String?
    public var b: String?
}

/// Everything that differs between two training states A and B: every tensor
/// (``TensorDiffEntry``) and every metadata field (``FieldDifference``).
public struct StateDiff: Sendable, Hashable, Codable {
    public var tensors: [TensorDiffEntry]
    public var fields: [FieldDifference]

    /// Number of tensor entries with each status.
    public func count(_ status: TensorDiffEntry.Status) -> Int { tensors.reduce(0) { $0 + ($1.status == status ? 1 : 0) } }

    /// No tensor and no field differs.
    public var isIdentical: Bool { fields.isEmpty && tensors.allSatisfy { $0.status == .identical } }

    /// `12 identical, 1 changed, 0 shape changed, 0 only in A, 27 only in B; 3 metadata fields differ`.
    public var summary: String {
        "\(count(.identical)) identical, \(count(.changed)) changed, \(count(.shapeChanged)) shape changed, "
            + "\(count(.onlyInA)) only in A, \(count(.onlyInB)) only in B; "
            + "\(fields.count) metadata field\(fields.count == 1 ? "" : "s") differ\(fields.count == 1 ? "s" : "")"
    }

    enum CodingKeys: String, CodingKey { case tensors, fields, counts, identical }

    public init(tensors: [TensorDiffEntry], fields: [FieldDifference]) {
        self.tensors = tensors
        self.fields = fields
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tensors = try c.decode([TensorDiffEntry].self, forKey: .tensors)
        fields = try c.decode([FieldDifference].self, forKey: .fields)
    }

    /// Also writes `counts` (per status, plus `fields`) and `identical`, so machines need not count.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tensors, forKey: .tensors)
        try c.encode(fields, forKey: .fields)
        var counts = Dictionary(uniqueKeysWithValues: TensorDiffEntry.Status.allCases.map { ($0.rawValue, count($0)) })
        counts["fields"] = fields.count
        try c.encode(counts, forKey: .counts)
        try c.encode(isIdentical, forKey: .identical)
    }
}

/// Reported after every tensor pair, for the CLI to render.
public struct StateDiffProgress: Sendable {
    /// Tensor entries done (1-based) and in all.
    public var index: Int
    public var count: Int
    /// The parameter of the entry just done.
    public var parameter: String
}

extension StateDiff {
    /// Compares two checkpoints tensor by tensor, streaming: one tensor of each file is held at a
    /// time (A's then B's), never a whole state. Entries follow A's canonical order (each
    /// parameter, then its `exp_avg`, `exp_avg_sq`), then the parameters only B has, in B's order.
    ///
    /// - Throws: ``StateError`` when a tensor cannot be read (naming file and dataset).
    public static func compare(
        _ a: CheckpointReader, _ b: CheckpointReader, progress: (StateDiffProgress) -> Void = { _ in }
    ) throws(StateError) -> StateDiff {
        let namesA = Set(a.specs.map(\.name)), namesB = Set(b.specs.map(\.name))
        // A weights-only side has no moments: the other side's moments are "only in" it.
        let work = a.tensors + b.tensors.filter { !namesA.contains($0.parameter) || (a.isWeightsOnly && $0.role != .parameter) }
        var entries: [TensorDiffEntry] = []
        entries.reserveCapacity(work.count)
        for (index, info) in work.enumerated() {
            let isMoment = info.role != .parameter
            let inA = namesA.contains(info.parameter) && !(isMoment && a.isWeightsOnly)
            let inB = namesB.contains(info.parameter) && !(isMoment && b.isWeightsOnly)
            var entry = TensorDiffEntry(parameter: info.parameter, role: info.role, status: .onlyInA,
                                        shapeA: inA ? info.shape : nil, shapeB: inA ? nil : info.shape)
            if !inA {
                entry.status = .onlyInB
            } else if inB {
                let infoB = try b.info(info.parameter, info.role)
                entry.shapeB = infoB.shape
                if infoB.shape != info.shape {
                    entry.status = .shapeChanged
                } else {
                    let difference = TensorDifference(try a.tensor(at: info).data, try b.tensor(at: infoB).data)
                    entry.difference = difference
                    entry.status = difference.identical ? .identical : .changed
                }
            }
            entries.append(entry)
            progress(StateDiffProgress(index: index + 1, count: work.count, parameter: info.parameter))
        }
        var fields = metadataDifferences(a.metadata, b.metadata)
        for spec in a.specs where namesB.contains(spec.name) && !a.isWeightsOnly && !b.isWeightsOnly {
            let (stepA, decayA) = try a.momentAttributes(named: spec.name)
            let (stepB, decayB) = try b.momentAttributes(named: spec.name)
            if stepA != stepB { fields.append(FieldDifference(section: "adam", field: "\(spec.name) step", a: "\(stepA)", b: "\(stepB)")) }
            if decayA != decayB {
                fields.append(FieldDifference(section: "adam", field: "\(spec.name) apply_weight_decay", a: "\(decayA)", b: "\(decayB)"))
            }
        }
        return StateDiff(tensors: entries, fields: fields)
    }

    /// Every differing scalar of config, optimizer hyperparameters, schedule, trainer position,
    /// history (length and last entry) and provenance (length and differing records), in that order.
    public static func metadataDifferences(_ a: CheckpointMetadata, _ b: CheckpointMetadata) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func compare(_ section: String, _ pairs: [(String, String?, String?)]) {
            for (field, x, y) in pairs where x != y { out.append(FieldDifference(section: section, field: field, a: x, b: y)) }
        }
        compare("config", zip(configFields(a.config), configFields(b.config)).map { ($0.0, $0.1, $1.1) })
        compare("state", [("weights_only", "\(a.weightsOnly)", "\(b.weightsOnly)")])
        // A weights-only side stores no optimizer, schedule, trainer or history: comparing the
        // defaults a reader fills in would list differences no file holds.
        if !a.weightsOnly && !b.weightsOnly { trainingDifferences(a, b, compare) }
        provenanceDifferences(a, b, compare)
        return out
    }

    static func trainingDifferences(_ a: CheckpointMetadata, _ b: CheckpointMetadata,
                                    _ compare: (String, [(String, String?, String?)]) -> Void) {
        let (oa, ob) = (a.optimizer, b.optimizer)
        compare("optimizer", [("lr", "\(oa.lr)", "\(ob.lr)"), ("beta1", "\(oa.beta1)", "\(ob.beta1)"),
                              ("beta2", "\(oa.beta2)", "\(ob.beta2)"), ("eps", "\(oa.eps)", "\(ob.eps)"),
                              ("weight_decay", "\(oa.weightDecay)", "\(ob.weightDecay)")])
        let (sa, sb) = (a.schedule, b.schedule)
        compare("schedule", [
            ("kind", sa.kind.rawValue, sb.kind.rawValue), ("peak_lr", "\(sa.peakLR)", "\(sb.peakLR)"),
            ("min_lr", "\(sa.minLR)", "\(sb.minLR)"), ("warmup_steps", "\(sa.warmupSteps)", "\(sb.warmupSteps)"),
            ("total_steps", "\(sa.totalSteps)", "\(sb.totalSteps)"), ("decay_steps", "\(sa.decaySteps)", "\(sb.decaySteps)"),
            ("rewarm_start", sa.rewarmStart.map { "\($0)" }, sb.rewarmStart.map { "\($0)" }),
            ("rewarm_steps", sa.rewarmSteps.map { "\($0)" }, sb.rewarmSteps.map { "\($0)" }),
        ])
        let (ta, tb) = (a.trainer, b.trainer)
        compare("trainer", [
            ("step", "\(ta.step)", "\(tb.step)"), ("tokens_seen", "\(ta.tokensSeen)", "\(tb.tokensSeen)"),
            ("batch_size", "\(ta.batchSize)", "\(tb.batchSize)"), ("seq_len", "\(ta.seqLen)", "\(tb.seqLen)"),
            ("seed", "\(ta.seed)", "\(tb.seed)"), ("data_cursor", "\(ta.dataCursor)", "\(tb.dataCursor)"),
            ("rng_state", hex(ta.rngState), hex(tb.rngState)), ("generator", ta.generator, tb.generator),
        ])
        let (ha, hb) = (a.history, b.history)
        compare("history", [
            ("length", "\(ha.count)", "\(hb.count)"),
            ("last", ha.step.last.map { "step \($0), loss \(ha.loss.last!)" }, hb.step.last.map { "step \($0), loss \(hb.loss.last!)" }),
        ])
    }

    static func provenanceDifferences(_ a: CheckpointMetadata, _ b: CheckpointMetadata,
                                      _ compare: (String, [(String, String?, String?)]) -> Void) {
        var provenance: [(String, String?, String?)] = [("length", "\(a.provenance.count)", "\(b.provenance.count)")]
        for i in 0..<max(a.provenance.count, b.provenance.count) {
            let x = i < a.provenance.count ? a.provenance[i] : nil, y = i < b.provenance.count ? b.provenance[i] : nil
            if x?.jsonString() != y?.jsonString() { provenance.append(("record \(i)", x.map(describe), y.map(describe))) }
        }
        compare("provenance", provenance)
    }

    /// The `/config` attributes by their format v1 names, as text.
    static func configFields(_ c: ModelConfig) -> [(String, String)] {
        [("family", c.family.rawValue), ("vocab_size", "\(c.vocabSize)"), ("hidden_size", "\(c.hiddenSize)"),
         ("num_layers", "\(c.numLayers)"), ("num_heads", "\(c.numHeads)"), ("num_kv_heads", "\(c.numKVHeads)"),
         ("head_dim", "\(c.headDim)"), ("intermediate_size", "\(c.intermediateSize)"), ("max_position", "\(c.maxPosition)"),
         ("norm", c.norm.rawValue), ("norm_eps", "\(c.normEps)"), ("activation", c.activation.rawValue),
         ("position", c.position.rawValue), ("rope_theta", "\(c.ropeTheta)"), ("tie_embeddings", "\(c.tieEmbeddings)"),
         ("attention_bias", "\(c.attentionBias)"), ("mlp_bias", "\(c.mlpBias)")]
    }

    /// A provenance record in a few words: operator, growth operators, time.
    static func describe(_ record: ProvenanceRecord) -> String {
        var text = record.operatorName
        if let growth = record.growth, !growth.operators.isEmpty { text += " " + growth.operators.joined(separator: " ") }
        return text + " at " + record.time
    }

    /// The bytes as hex when at most 32 (the bundled trainer's state), else their count and a
    /// 64-bit FNV-1a hash of all of them, so two different states never render alike in practice.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        if bytes.count <= 32 { return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined() }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "\(bytes.count) bytes, FNV-1a \(String(hash, radix: 16))"
    }
}
