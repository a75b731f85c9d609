import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitModel
import GrowkitState
import GrowkitVerify

/// `grow --verify`: the grown weights made in memory (values only) and checked against
/// the source on `growkit verify`'s default seeded random batches, before anything is written.
enum GrowVerification {
    static func check(_ plan: GrowthPlan, source model: StateSource, input: String, output: String) throws
        -> FunctionPreservationResult
    {
        let source = try model.parameters()
        var grown: [String: Tensor] = [:]
        func read(_ name: String, _ component: TensorComponent) throws(StateError) -> Tensor {
            guard let tensor = source[name] else { throw .unknownParameter(file: input, name: name) }
            return tensor
        }
        // Values only: the moments' step and decay flag do not change a value.
        func state(_ name: String) throws(StateError) -> (step: Int, applyWeightDecay: Bool) { (0, false) }
        func keep(_ recipe: TensorRecipe, _ component: TensorComponent, _ tensor: Tensor, _ step: Int, _ decay: Bool)
            throws(StateError)
        {
            grown[recipe.spec.name] = tensor
        }
        try plan.run(optimizer: .carry, components: [.value], read: read, sourceOptimizerState: state, write: keep)
        return try FunctionPreservation.check(
            sourceConfig: plan.source, sourceParameters: source, grownConfig: plan.grown, grownParameters: grown,
            batches: try FunctionPreservation.randomBatches(for: plan.source), claimedExact: plan.isExact,
            names: ModelNames(source: input, grown: output))
    }

    /// A function-preserving growth whose grown model misses the tolerances.
    struct Failure: Error, CustomStringConvertible {
        let output: String
        let result: FunctionPreservationResult

        var description: String {
            "\(output): not written: the growth claims to preserve the function but \(result.exceeded ?? "misses the tolerances") "
                + String(format: "(loss %.7f -> %.7f, max |dlogit| %.3g); report this with the input and the operators",
                         result.sourceLoss, result.grownLoss, result.maxLogitDifference)
        }
    }
}
