import GrowkitState

/// Summaries of a checkpoint's metadata for `inspect`, computed without reading tensors.
public struct CheckpointSummary: Sendable {
    /// Smallest and largest per-parameter AdamW `step`.
    public var stepRange: ClosedRange<Int>
    /// Parameters with `apply_weight_decay = 1`, canonical order.
    public var decaying: [String]
    /// Parameters without weight decay, canonical order.
    public var notDecaying: [String]
    /// Whether the decay flags follow the usual grouping (``ParameterSpec/defaultWeightDecay``:
    /// matrices decay, vectors do not).
    public var decayFollowsDefault: Bool
    /// The learning rate of the trainer's next update, `schedule.learningRate(atStep: trainer.step)`.
    public var nextLearningRate: Double
    /// Total number of parameters (tied head counted once).
    public var parameterCount: Int
}

extension CheckpointReader {
    public var summary: CheckpointSummary {
        var steps: [Int] = []
        var decaying: [String] = [], notDecaying: [String] = []
        var followsDefault = true
        for spec in specs {
            // Every spec has moment attributes once init succeeded.
            guard let attributes = try? momentAttributes(named: spec.name) else { continue }
            steps.append(attributes.step)
            if attributes.applyWeightDecay { decaying.append(spec.name) } else { notDecaying.append(spec.name) }
            if attributes.applyWeightDecay != spec.defaultWeightDecay { followsDefault = false }
        }
        return CheckpointSummary(
            stepRange: (steps.min() ?? 0)...(steps.max() ?? 0), decaying: decaying, notDecaying: notDecaying,
            decayFollowsDefault: followsDefault, nextLearningRate: schedule.learningRate(atStep: trainer.step),
            parameterCount: config.parameterCount)
    }
}
