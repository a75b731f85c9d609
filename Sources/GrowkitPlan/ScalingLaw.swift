import Foundation

/// Kaplan et al. 2020 (arXiv 2001.08361) learning-curve law, as staged
/// training (Shen et al. 2022, arXiv 2203.06211) uses it to place growth:
///
///     L(N, Smin) = (Nc / N)^alphaN + (Sc / Smin)^alphaS          (Kaplan eq. 1.6)
///     Smin(S)    = S / (1 + Bcrit(L) / B)                        (Kaplan eq. 5.4)
///     Bcrit(L)   = B* / L^(1 / alphaB)                           (Kaplan eq. 5.3)
///
/// N: non-embedding parameters; S: optimizer steps; B: tokens per step;
/// L: loss in nats per token. Defaults are Kaplan's Table 5 values, the same
/// ones staged training's `compute_optimal_schedule.py` and
/// `notebooks/remove_oracle.ipynb` use. Every constant can be overridden, e.g.
/// with a fit on one's own runs.
public struct KaplanScalingLaw: Sendable, Hashable, Codable {
    /// Nc (parameters).
    public var criticalParameters: Double
    /// Sc (steps).
    public var criticalSteps: Double
    /// alphaN.
    public var parameterExponent: Double
    /// alphaS.
    public var stepExponent: Double
    /// B* (tokens).
    public var criticalBatchScale: Double
    /// alphaB.
    public var batchExponent: Double

    public init(criticalParameters: Double = 8.8e13, criticalSteps: Double = 2.1e3,
                parameterExponent: Double = 0.076, stepExponent: Double = 0.76,
                criticalBatchScale: Double = 2.1e8, batchExponent: Double = 0.21) {
        self.criticalParameters = criticalParameters
        self.criticalSteps = criticalSteps
        self.parameterExponent = parameterExponent
        self.stepExponent = stepExponent
        self.criticalBatchScale = criticalBatchScale
        self.batchExponent = batchExponent
    }

    /// Kaplan et al. 2020, Table 5.
    public static let kaplan2020 = KaplanScalingLaw()

    /// Checks every constant is a positive finite number.
    public func validate() throws(PlanError) {
        let named: [(String, Double)] = [
            ("scaling-law constant Nc", criticalParameters), ("scaling-law constant Sc", criticalSteps),
            ("scaling-law exponent alphaN", parameterExponent), ("scaling-law exponent alphaS", stepExponent),
            ("scaling-law constant B*", criticalBatchScale), ("scaling-law exponent alphaB", batchExponent),
        ]
        for (name, value) in named where !(value > 0 && value.isFinite) {
            throw .notPositive(name: name, value: value)
        }
    }

    /// `(Nc / N)^alphaN`: the loss of an N-parameter model trained to convergence.
    public func convergedLoss(parameters: Double) -> Double {
        pow(criticalParameters / parameters, parameterExponent)
    }

    /// `Bcrit(L) = B* / L^(1 / alphaB)` in tokens.
    public func criticalBatch(loss: Double) -> Double {
        criticalBatchScale / pow(loss, 1 / batchExponent)
    }
}

/// Which batch size the learning curve assumes (staged training's notebooks
/// use `.critical`; see docs/PLANNER.md for why it is the default).
public enum BatchAssumption: Sendable, Hashable, Codable {
    /// Training at B = Bcrit(L), so Smin = S / 2 and
    /// `L(N, S) = (Nc / N)^alphaN + (2 Sc / S)^alphaS` in closed form.
    case critical
    /// Training at a fixed B tokens per step: Smin = S / (1 + Bcrit(L) / B),
    /// an implicit equation in L, solved by bisection.
    case given(tokensPerStep: Double)

    private enum CodingKeys: String, CodingKey { case form, tokensPerStep }

    /// JSON: `{"form": "critical"}` or `{"form": "given-batch", "tokensPerStep": B}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .critical:
            try container.encode("critical", forKey: .form)
        case .given(let tokensPerStep):
            try container.encode("given-batch", forKey: .form)
            try container.encode(tokensPerStep, forKey: .tokensPerStep)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .form) {
        case "critical": self = .critical
        case "given-batch": self = .given(tokensPerStep: try container.decode(Double.self, forKey: .tokensPerStep))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .form, in: container,
                                                   debugDescription: "unknown loss form \(other)")
        }
    }
}

/// One model's predicted learning curve: loss and its log-log slope as
/// functions of the step S.
public struct LearningCurve: Sendable, Hashable {
    public var law: KaplanScalingLaw
    /// N (non-embedding parameters).
    public var parameters: Double
    public var batch: BatchAssumption

    public init(law: KaplanScalingLaw, parameters: Double, batch: BatchAssumption) {
        self.law = law
        self.parameters = parameters
        self.batch = batch
    }

    /// L(S) in nats per token.
    public func loss(step: Double) -> Double {
        let floor = law.convergedLoss(parameters: parameters)
        switch batch {
        case .critical:
            return floor + pow(2 * law.criticalSteps / step, law.stepExponent)
        case .given(let tokensPerStep):
            // h(L) = L - floor - (Sc (1 + Bcrit(L)/B) / S)^alphaS is increasing in L;
            // h(floor) < 0 and h(g(floor)) >= 0 with g the right-hand side, so bisect.
            func rightHandSide(_ l: Double) -> Double {
                let smin = step / (1 + law.criticalBatch(loss: l) / tokensPerStep)
                return floor + pow(law.criticalSteps / smin, law.stepExponent)
            }
            var lower = floor, upper = rightHandSide(floor)
            for _ in 0..<200 where upper - lower > 1e-15 * upper {
                let middle = 0.5 * (lower + upper)
                if middle - rightHandSide(middle) < 0 { lower = middle } else { upper = middle }
            }
            return 0.5 * (lower + upper)
        }
    }

    /// The exact slope `d ln L / d ln S`, which equals `d log L / d log C` for
    /// C = 6 N B S at a fixed B (C is proportional to S).
    ///
    /// Critical batch: with `x = (2 Sc / S)^alphaS`, `slope = -alphaS x / L`.
    /// Given batch: with `y = L - (Nc/N)^alphaN`, `k = 1 / alphaB`,
    /// `u = Bcrit(L) / B` and `q = k u / (1 + u)`, implicit differentiation of
    /// `ln y = alphaS [ln Sc + ln(1 + u) - ln S]` gives
    /// `slope = -alphaS y / (L + alphaS y q)`.
    public func slope(step: Double) -> Double {
        let l = loss(step: step)
        let y = l - law.convergedLoss(parameters: parameters)
        switch batch {
        case .critical:
            return -law.stepExponent * y / l
        case .given(let tokensPerStep):
            let u = law.criticalBatch(loss: l) / tokensPerStep
            let q = (1 / law.batchExponent) * u / (1 + u)
            return -law.stepExponent * y / (l + law.stepExponent * y * q)
        }
    }
}
