import GrowkitState

/// What a grown state's provenance claims about its growth: read from its
/// last provenance record, whose ``ProvenanceRecord/growth`` (a ``GrowthRecord``)
/// says whether every operator claims function preservation.
///
/// Only the last record counts: a state trained (or otherwise transformed) after
/// its growth no longer computes the grown function, whatever the growth claimed.
/// A state whose last record has no growth is compared all the same and treated
/// as not claiming exactness (docs/VERIFY.md).
public struct GrowthClaim: Sendable, Hashable, Codable {
    /// Whether the state claims to compute its source's function (``GrowthRecord/exact``);
    /// false without a growth record.
    public var exact: Bool
    /// The last record's growth, or `nil` when the last record is not a growth.
    public var growth: GrowthRecord?
    /// Operator name of the last provenance record (`grow`, `train`, ...), `nil` with no records.
    public var lastOperator: String?
    /// Number of provenance records.
    public var records: Int

    /// The claim of a state with these provenance records (oldest first).
    public init(provenance: [ProvenanceRecord]) {
        let last = provenance.last
        growth = last?.growth
        exact = last?.growth?.exact ?? false
        lastOperator = last?.operatorName
        records = provenance.count
    }

    /// Whether the provenance shows a growth as the last transformation.
    public var showsGrowth: Bool { growth != nil }

    /// Why no exactness is claimed when the last record is not a growth, as a phrase
    /// (e.g. `its provenance does not show a growth (last record: make-fixture)`), else `nil`.
    public var missingGrowth: String? {
        guard growth == nil else { return nil }
        if let lastOperator { return "its provenance does not show a growth (last record: \(lastOperator))" }
        return "its provenance does not show a growth (no provenance records)"
    }

    /// Disagreements between the growth record's `sizes` (`[source, grown]`) and the two configs,
    /// as phrases (e.g. `num_layers 2 -> 3 in the growth record but 4 -> 3 here`): a hint that the
    /// SMALL state given is not the one the state was grown from. Empty without a growth record.
    public func sizeMismatches(source: ModelConfig, grown: ModelConfig) -> [String] {
        guard let growth else { return [] }
        let actual: [String: (Int, Int)] = [
            "num_layers": (source.numLayers, grown.numLayers), "hidden_size": (source.hiddenSize, grown.hiddenSize),
            "intermediate_size": (source.intermediateSize, grown.intermediateSize),
            "num_heads": (source.numHeads, grown.numHeads), "num_kv_heads": (source.numKVHeads, grown.numKVHeads),
            "vocab_size": (source.vocabSize, grown.vocabSize), "head_dim": (source.headDim, grown.headDim),
        ]
        var out: [String] = []
        for key in growth.sizes.keys.sorted() {
            guard let recorded = growth.sizes[key], recorded.count == 2, let (a, b) = actual[key] else { continue }
            if recorded[0] != a || recorded[1] != b {
                out.append("\(key) \(recorded[0]) -> \(recorded[1]) in the growth record but \(a) -> \(b) here")
            }
        }
        return out
    }

    enum CodingKeys: String, CodingKey { case exact, growth, lastOperator = "last_operator", records }
}
