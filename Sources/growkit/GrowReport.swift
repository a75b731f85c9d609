import Foundation
import GrowkitGrowth
import GrowkitState
import GrowkitVerify

/// The text `grow` prints: the plan (`--dry-run`) and the summary after writing.
enum GrowReport {
    static func configLine(_ config: ModelConfig) -> String {
        "\(config.family.rawValue): \(config.numLayers) layers, hidden \(config.hiddenSize), \(config.numHeads) heads "
            + "(\(config.numKVHeads) kv, head_dim \(config.headDim)), intermediate \(config.intermediateSize), "
            + "\(config.parameterCount) parameters"
    }

    /// The provenance's `optimizer` (and `schedule`) of a weights-only growth.
    static let weightsOnlyOptimizer = "none (weights only)"

    static func header(_ plan: GrowthPlan, optimizer: OptimizerTransfer, schedule: ScheduleTransform,
                       weightsOnly: Bool = false) -> [String] {
        [
            "source  \(configLine(plan.source))",
            "grown   \(configLine(plan.grown))",
            "operators: " + [plan.depth.map { "depth \($0.name)" }, plan.width.map { "width \($0.name)" }]
                .compactMap { $0 }.joined(separator: ", ")
                + (plan.isExact ? " (function-preserving)" : " (changes the function by design)"),
            weightsOnly ? "weights only: no optimizer state or schedule to carry; the output is weights only"
                : "optimizer \(optimizer.rawValue), schedule \(schedule.name)",
        ]
    }

    static func dryRun(_ plan: GrowthPlan, optimizer: OptimizerTransfer, schedule: ScheduleTransform, compressed: Bool,
                       weightsOnly: Bool = false) -> String {
        let bytes = plan.grown.parameterCount * (weightsOnly ? 4 : 12)
        var lines = header(plan, optimizer: optimizer, schedule: schedule, weightsOnly: weightsOnly)
        lines.append(String(format: "output: %.1f MB of tensors (%@, float32%@)", Double(bytes) / 1e6,
                            weightsOnly ? "values only" : "values and two moments", compressed ? ", before compression" : ""))
        let width = plan.recipes.map(\.spec.name.count).max() ?? 0
        for recipe in plan.recipes {
            let name = recipe.spec.name.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("  \(name)  \(recipe.spec.shape)  \(recipe.summary(optimizer: optimizer))")
        }
        return lines.joined(separator: "\n")
    }

    static func summary(_ plan: GrowthPlan, output: String, optimizer: OptimizerTransfer, schedule: ScheduleTransform,
                        metadata: CheckpointMetadata, verification: FunctionPreservationResult?, seconds: Double,
                        bytes: Int) -> String {
        let record = plan.record(operators: [])
        var lines = header(plan, optimizer: optimizer, schedule: schedule, weightsOnly: metadata.weightsOnly)
        lines.append("tensors: \(record.copiedTensors.count) copied, \(record.partlyNewTensors.count) partly new, \(record.newTensors.count) new"
                     + (record.newLayers.isEmpty ? "" : "; new layers \(record.newLayers.map(String.init).joined(separator: ","))"))
        if !metadata.weightsOnly {
            lines.append("trainer step \(metadata.trainer.step), next LR \(String(format: "%.3g", metadata.schedule.learningRate(atStep: metadata.trainer.step))), tokens seen \(metadata.trainer.tokensSeen)")
        }
        if let v = verification {
            lines.append(String(format: "verify: loss %.7f -> %.7f, |dloss| %.2e, max |dlogit| %.2e: %@", v.sourceLoss, v.grownLoss,
                                v.lossDifference, v.maxLogitDifference, v.verdict.rawValue.replacingOccurrences(of: "_", with: " ")))
        }
        lines.append(String(format: "wrote %@ (%.1f MB of tensors in %.2f s, %.0f MB/s)", output, Double(bytes) / 1e6,
                            seconds, Double(bytes) / 1e6 / max(seconds, 1e-9)))
        return lines.joined(separator: "\n")
    }
}
