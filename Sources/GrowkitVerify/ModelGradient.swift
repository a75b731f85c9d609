import GrowkitModel
import GrowkitState

/// The gradient of a model's mean loss over several batches, by the bundled backward pass.
///
/// For batches `b = 1..N` with `n_b` valid targets each, the loss is
/// `L = (1 / sum_b n_b) sum_b sum_{t valid} loss_{b,t}` (one batch of all the rows, as gradient
/// accumulation computes it), and the result is `dL / d theta` in ``ParameterLayout`` order.
/// Growth's gradient rule is linear, so it holds for this sum exactly when it holds per batch.
public struct ModelGradient: Sendable {
    /// `dL / d theta`, packed like ``ModelWeights/values``.
    public var values: [Float]
    /// `L`, the mean loss over every valid target of every batch (float64 sum of float32 batch losses).
    public var loss: Double

    /// Forward and backward over every batch, accumulating into one gradient buffer.
    /// - Throws: ``VerifyError`` naming `name` when the model rejects a batch, or when a loss or a
    ///   gradient entry is not finite.
    public init(_ weights: ModelWeights, batches: [VerificationBatch], name: String) throws(VerifyError) {
        guard let first = batches.first else { throw .invalidBatch(problem: "no batch to differentiate; pass at least one") }
        let valid = batches.reduce(0) { $0 + Kernels.validTargetCount($1.targets) }
        guard valid > 0 else { throw .invalidBatch(problem: "no valid target in any batch") }
        let scale = 1 / Float(valid)
        var activations: Activations
        var gradients: Gradients
        do {
            activations = try Activations(config: weights.config, batchSize: first.batchSize, seqLen: first.seqLen,
                                          keepForBackward: true)
            gradients = try Gradients(for: activations)
        } catch { throw .model(model: name, message: error.description) }
        gradients.zeroParameters()
        var total = 0.0
        for (index, batch) in batches.enumerated() {
            do {
                if batch.batchSize != activations.batchSize || batch.seqLen != activations.seqLen {
                    // A new shape: new buffers, carrying the gradient accumulated so far.
                    let carried = Array(UnsafeBufferPointer(start: gradients.parameters, count: gradients.parameterCount))
                    activations = try Activations(config: weights.config, batchSize: batch.batchSize, seqLen: batch.seqLen,
                                                  keepForBackward: true)
                    gradients = try Gradients(for: activations)
                    carried.withUnsafeBufferPointer { gradients.parameters.update(from: $0.baseAddress!, count: $0.count) }
                }
                guard let loss = try weights.forward(tokens: batch.inputs, targets: batch.targets, activations: activations)
                else { continue }
                guard loss.isFinite else { throw VerifyError.nonFinite(model: name, batch: index + 1, what: "loss") }
                total += Double(loss) * Double(activations.validTargetCount)
                try weights.backward(activations: activations, gradients: gradients, lossScale: scale)
            } catch let error as VerifyError {
                throw error
            } catch let error as ModelError {
                throw .model(model: name, message: error.description)
            } catch {
                throw .model(model: name, message: "\(error)")
            }
        }
        let values = Array(UnsafeBufferPointer(start: gradients.parameters, count: gradients.parameterCount))
        guard values.allSatisfy(\.isFinite) else { throw .nonFinite(model: name, batch: batches.count, what: "gradient") }
        self.values = values
        loss = total / Double(valid)
    }
}
