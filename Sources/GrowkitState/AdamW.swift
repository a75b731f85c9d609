/// AdamW hyperparameters, in `torch.optim.AdamW` semantics (Loshchilov and
/// Hutter 2019, decoupled weight decay). Stored as the attributes of `/optimizer`.
///
/// One update of a parameter `theta` with gradient `g`, after `t` updates
/// (`t` counts this one, so `t >= 1`), at learning rate `lr` taken from the schedule:
///
///     theta <- theta - lr * weight_decay * theta            (only if the parameter decays)
///     m     <- beta1 * m + (1 - beta1) * g                  (exp_avg)
///     v     <- beta2 * v + (1 - beta2) * g^2                (exp_avg_sq)
///     theta <- theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
public struct AdamWHyperparameters: Sendable, Hashable, Codable {
    /// The learning rate of the last update taken. Informational: the schedule
    /// (``Schedule/learningRate(atStep:)``) is the truth for the next one.
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double

    /// Defaults are torch's: `lr = 1e-3`, `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 1e-2`.
    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 1e-2) {
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// Checks the ranges torch itself enforces: `0 <= beta < 1`, `eps >= 0`,
    /// `lr >= 0`, `weight_decay >= 0`, all finite. Returns the first problem as
    /// a phrase naming the attribute, or `nil` when all is well.
    public func problem() -> String? {
        let named: [(String, Double)] = [("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps), ("weight_decay", weightDecay)]
        for (name, value) in named where !(value.isFinite && value >= 0) {
            return "\(name) is \(value); it must be a finite number >= 0"
        }
        if beta1 >= 1 { return "beta1 is \(beta1); it must be below 1" }
        if beta2 >= 1 { return "beta2 is \(beta2); it must be below 1" }
        return nil
    }
}

/// The optimizer state of one parameter, as `torch.optim.AdamW` keeps it
/// (`state[p]["exp_avg"]`, `["exp_avg_sq"]`, `["step"]`), plus whether weight
/// decay applies to it (torch's parameter groups).
///
/// `expAvg` is the first moment `m`, `expAvgSq` the second moment `v` (non-negative),
/// both the shape of the parameter. `step` is the number of updates this
/// parameter has received; bias correction divides by `1 - beta^step`.
/// A fresh parameter has zero moments and `step = 0`.
public struct AdamParameterState: Sendable, Equatable {
    public var expAvg: Tensor
    public var expAvgSq: Tensor
    public var step: Int
    public var applyWeightDecay: Bool

    public init(expAvg: Tensor, expAvgSq: Tensor, step: Int, applyWeightDecay: Bool) {
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
        self.step = step
        self.applyWeightDecay = applyWeightDecay
    }

    /// Zero moments and `step = 0`: a parameter that has never been updated.
    public init(freshFor shape: [Int], applyWeightDecay: Bool) {
        self.init(expAvg: Tensor(zeros: shape), expAvgSq: Tensor(zeros: shape), step: 0, applyWeightDecay: applyWeightDecay)
    }
}
