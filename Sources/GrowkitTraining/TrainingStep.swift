import GrowkitModel
import GrowkitState

/// The numbers of one optimizer update.
public struct StepOutcome: Sendable, Equatable {
    /// The update's number, 1-based (the trainer's step after it).
    public var step: Int
    /// Mean cross-entropy over the valid targets of all micro-batches, before the update.
    public var loss: Double
    /// The learning rate the update used (``Schedule/learningRate(atStep:)`` of the step before it).
    public var lr: Double
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
}

/// One model in training: weights, AdamW state, schedule and the buffers of forward and backward,
/// allocated once. ``step()`` runs `accumulation` micro-batches of `batchSize x seqLen` (the
/// tokens the caller put in ``inputs`` and ``targets``), adds up their gradients and takes one
/// AdamW update, allocating nothing once the first step has run.
public final class TrainingStepper {
    public private(set) var weights: ModelWeights
    public var optimizer: AdamWOptimizer
    public var schedule: Schedule
    /// Clip the global gradient norm to this (torch's `clip_grad_norm_`), or nil for no clipping.
    public var maxGradNorm: Double?
    /// Updates taken so far (the next one uses `schedule.learningRate(atStep: stepsTaken)`).
    public private(set) var stepsTaken: Int
    public let batchSize: Int
    public let seqLen: Int
    public let accumulation: Int
    /// Per micro-batch, `[batchSize * seqLen]` token ids and next-token targets (-100 ignores one),
    /// filled by the caller before each ``step()``.
    public var inputs: [[Int32]]
    public var targets: [[Int32]]
    let activations: Activations
    let gradients: Gradients

    public init(weights: ModelWeights, optimizer: AdamWOptimizer, schedule: Schedule, maxGradNorm: Double?,
                step: Int, batchSize: Int, seqLen: Int, accumulation: Int = 1) throws(ModelError) {
        guard accumulation >= 1 else { throw .invalidBatchShape(batchSize: batchSize * accumulation, seqLen: seqLen) }
        self.weights = weights
        self.optimizer = optimizer
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.stepsTaken = step
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.accumulation = accumulation
        activations = try Activations(config: weights.config, batchSize: batchSize, seqLen: seqLen)
        gradients = try Gradients(for: activations)
        let empty = [Int32](repeating: 0, count: batchSize * seqLen)
        inputs = Array(repeating: empty, count: accumulation)
        targets = Array(repeating: empty, count: accumulation)
    }

    /// The gradient of the last ``step()`` (after clipping), in ``ParameterLayout`` order.
    public var parameterGradients: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: gradients.parameters, count: gradients.parameterCount)
    }

    /// One update: for each micro-batch a forward and a backward pass of the loss
    /// `sum_n loss_n / (valid targets of all micro-batches)`, so A micro-batches of B rows give the
    /// gradient of one batch of A x B rows; then clipping and AdamW at the schedule's LR.
    /// - Throws: ``TrainingError/nonFiniteLoss(step:loss:lastCheckpoint:)`` or
    ///   ``TrainingError/nonFiniteGradient(step:lastCheckpoint:)`` before touching the weights;
    ///   ``TrainingError/model(_:)`` for bad token ids.
    @discardableResult
    public func step() throws(TrainingError) -> StepOutcome {
        var valid = 0
        for a in 0..<accumulation { valid += Kernels.validTargetCount(targets[a]) }
        guard valid > 0 else { throw .model(.noValidTargets) }
        let scale = 1 / Float(valid)
        gradients.zeroParameters()
        var total = 0.0
        do {
            for a in 0..<accumulation {
                guard let loss = try weights.forward(tokens: inputs[a], targets: targets[a], activations: activations)
                else { continue }
                total += Double(loss) * Double(activations.validTargetCount)
                try weights.backward(activations: activations, gradients: gradients, lossScale: scale)
            }
        } catch { throw .model(error) }
        let loss = total / Double(valid)
        guard loss.isFinite else { throw .nonFiniteLoss(step: stepsTaken + 1, loss: loss, lastCheckpoint: nil) }
        // A finite loss can still back-propagate an overflow; updating with it would poison the weights.
        let norm = optimizer.gradientNorm(gradients.parameters)
        guard norm.isFinite else { throw .nonFiniteGradient(step: stepsTaken + 1, lastCheckpoint: nil) }
        let lr = schedule.learningRate(atStep: stepsTaken)
        optimizer.step(parameters: &weights.values, gradients: gradients.parameters, lr: lr, maxGradNorm: maxGradNorm,
                       norm: norm)
        stepsTaken += 1
        return StepOutcome(step: stepsTaken, loss: loss, lr: lr, gradientNorm: norm)
    }
}
