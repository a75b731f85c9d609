import GrowkitState

/// Training compute along a run's history: `6 N D` (forward and backward, Kaplan
/// et al. 2020), summed segment by segment so a grown run counts its small model's
/// steps at the small model's size.
///
/// Entry `i`'s FLOPs are `F[i] = F[i-1] + 6 N(i) (tokens[i] - tokens[i-1])` with
/// `F[0] = 6 N(0) tokens[0]`, where `N(i)` is the parameter count of the model that
/// trained entry `i`: the source model of the first growth at or after `i` (the
/// current config with that record's `growth.sizes` source values: `num_layers`,
/// `hidden_size`, `intermediate_size`, `num_heads`, `num_kv_heads`), or the current
/// model after the last growth. Embedding parameters are counted (N is the whole
/// `parameterCount`), as `inspect` reports it.
public enum FlopsCurve {
    public static func flops(history: TrainingHistory, config: ModelConfig, growths: [GrowthPoint]) -> [Double] {
        let ordered = growths.sorted { ($0.historyIndex, $0.recordIndex) < ($1.historyIndex, $1.recordIndex) }
        let sizes = ordered.map { (index: $0.historyIndex, count: sourceParameterCount(config, $0.growth)) }
        let current = Double(config.parameterCount)
        var result: [Double] = []
        result.reserveCapacity(history.count)
        var total = 0.0, previousTokens = 0
        for i in 0..<history.count {
            let n = sizes.first(where: { $0.index >= i })?.count ?? current
            total += 6 * n * Double(history.tokens[i] - previousTokens)
            previousTokens = history.tokens[i]
            result.append(total)
        }
        return result
    }

    /// The source model's parameter count from a growth record's sizes; the current
    /// count when the record has no sizes.
    static func sourceParameterCount(_ config: ModelConfig, _ growth: GrowthRecord?) -> Double {
        guard let sizes = growth?.sizes else { return Double(config.parameterCount) }
        var source = config
        func before(_ key: String) -> Int? { sizes[key].flatMap { $0.count == 2 ? $0[0] : nil } }
        if let v = before("num_layers") { source.numLayers = v }
        if let v = before("hidden_size") { source.hiddenSize = v }
        if let v = before("intermediate_size") { source.intermediateSize = v }
        if let v = before("num_heads") { source.numHeads = v }
        if let v = before("num_kv_heads") { source.numKVHeads = v }
        return Double(source.parameterCount)
    }
}
