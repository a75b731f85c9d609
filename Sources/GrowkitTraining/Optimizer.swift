#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import GrowkitModel
import GrowkitState

/// `torch.optim.AdamW` (single-tensor path, what torch runs on CPU) over the flat parameter vector
/// of ``ModelWeights`` (``ParameterLayout`` order), with gradient clipping by global norm
/// (`torch.nn.utils.clip_grad_norm_`). One update of tensor `i` with gradient `g` at learning
/// rate `lr`, after its step counter `t_i` has been incremented (Loshchilov and Hutter 2019):
///
///     theta <- theta (1 - lr wd)                        only if the tensor decays (decoupled decay)
///     m     <- m + (1 - beta1) (g - m)                  torch's lerp_
///     v     <- beta2 v + (1 - beta2) g^2
///     theta <- theta - (lr / (1 - beta1^t_i)) m / (sqrt(v) / sqrt(1 - beta2^t_i) + eps)
///
/// The step counter is per tensor (torch's `state[p]["step"]`): a tensor that growth added later
/// bias-corrects from its own first update. Frozen tensors (``trainable`` false) keep their
/// values, moments and step, and do not count towards the clipping norm.
public struct AdamWOptimizer: Sendable {
    public var hyperparameters: AdamWHyperparameters
    public let layout: ParameterLayout
    /// [P] first and second moments, packed like the parameters.
    public var expAvg: [Float]
    public var expAvgSq: [Float]
    /// Per tensor, in `layout.specs` order: updates taken, whether weight decay applies, whether it trains.
    public var steps: [Int]
    public var decays: [Bool]
    public var trainable: [Bool]
    /// Per tensor: offset and element count in the flat vectors (copied out of `layout` once, so the
    /// update loop reads two integers and allocates nothing, in unoptimized builds too).
    let offsets: [Int]
    let counts: [Int]

    /// Fresh moments (`step = 0`, the default decay grouping) or the given per-parameter states.
    public init(config: ModelConfig, hyperparameters: AdamWHyperparameters,
                states: [String: AdamParameterState]? = nil) {
        let layout = ParameterLayout(config: config)
        self.layout = layout
        self.hyperparameters = hyperparameters
        expAvg = [Float](repeating: 0, count: layout.count)
        expAvgSq = [Float](repeating: 0, count: layout.count)
        steps = [Int](repeating: 0, count: layout.specs.count)
        decays = layout.specs.map(\.defaultWeightDecay)
        trainable = [Bool](repeating: true, count: layout.specs.count)
        offsets = layout.offsets
        counts = layout.specs.map(\.elementCount)
        guard let states else { return }
        for (i, spec) in layout.specs.enumerated() {
            guard let state = states[spec.name] else { continue }
            let o = layout.offsets[i]
            expAvg.replaceSubrange(o..<(o + spec.elementCount), with: state.expAvg.data)
            expAvgSq.replaceSubrange(o..<(o + spec.elementCount), with: state.expAvgSq.data)
            steps[i] = state.step
            decays[i] = state.applyWeightDecay
        }
    }

    /// Every parameter's state, keyed by dotted name (what a checkpoint stores).
    public func states() -> [String: AdamParameterState] {
        var out: [String: AdamParameterState] = [:]
        for (i, spec) in layout.specs.enumerated() {
            let o = layout.offsets[i], range = o..<(o + spec.elementCount)
            out[spec.name] = AdamParameterState(
                expAvg: Tensor(shape: spec.shape, data: Array(expAvg[range])),
                expAvgSq: Tensor(shape: spec.shape, data: Array(expAvgSq[range])),
                step: steps[i], applyWeightDecay: decays[i])
        }
        return out
    }

    /// `sqrt(sum g^2)` over the trainable tensors, accumulated in float64 (torch sums each tensor's
    /// norm in float32; the difference is far below float32 tolerance of the clipped update).
    public func gradientNorm(_ gradients: UnsafePointer<Float>) -> Double {
        var total = 0.0
        for i in counts.indices where trainable[i] {
            total += Kernels.sumOfSquares(gradients + offsets[i], count: counts[i])
        }
        return total.squareRoot()
    }

    /// One AdamW update of every trainable tensor at learning rate `lr`, after clipping the
    /// gradients to global norm `maxGradNorm` when given (torch: `g *= min(1, max / (norm + 1e-6))`).
    /// - Returns: the global gradient norm before clipping.
    @discardableResult
    /// - Parameter norm: ``gradientNorm(_:)`` of `gradients` when the caller already has it.
    public mutating func step(parameters: inout [Float], gradients: UnsafeMutablePointer<Float>, lr: Double,
                              maxGradNorm: Double?, norm given: Double? = nil) -> Double {
        let norm = given ?? gradientNorm(gradients)
        var clip: Float = 1
        if let maxGradNorm, maxGradNorm > 0 {
            let coefficient = maxGradNorm / (norm + 1e-6)
            if coefficient < 1 { clip = Float(coefficient) }
        }
        let h = hyperparameters
        parameters.withUnsafeMutableBufferPointer { p in
            expAvg.withUnsafeMutableBufferPointer { m in
                expAvgSq.withUnsafeMutableBufferPointer { v in
                    for i in counts.indices where trainable[i] {
                        steps[i] += 1
                        let t = Double(steps[i])
                        // torch computes these scalars in Python floats (float64), then the kernels use float32.
                        let stepSize = lr / (1 - pow(h.beta1, t))
                        let correction2 = (1 - pow(h.beta2, t)).squareRoot()
                        let scalars = Kernels.AdamWScalars(
                            decay: decays[i] ? Float(1 - lr * h.weightDecay) : 1, beta1: Float(1 - h.beta1),
                            beta2: Float(h.beta2), stepSize: Float(stepSize), correction2: Float(correction2),
                            eps: Float(h.eps), clip: clip)
                        let o = offsets[i]
                        Kernels.adamw(param: p.baseAddress! + o, grad: gradients + o, expAvg: m.baseAddress! + o,
                                      expAvgSq: v.baseAddress! + o, count: counts[i], scalars)
                    }
                }
            }
        }
        hyperparameters.lr = lr
        return norm
    }
}
