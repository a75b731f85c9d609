import GrowkitRandom
import GrowkitCheckpoint
import GrowkitState

/// Initial weights for a new run, GPT-2 style (Radford et al. 2019; nanoGPT):
/// every matrix `N(0, 0.02^2)`, except the residual-output projections
/// (`o_proj`, `down_proj`) at `N(0, (0.02 / sqrt(2 L))^2)` so the residual
/// stream's variance does not grow with depth; norm weights 1, biases 0.
public enum ModelInitialization {
    public static let standardDeviation: Float = 0.02

    /// One tensor per parameter of `config`, each from its own stream
    /// (`seed` mixed with the parameter's index), so a tensor can be regenerated alone.
    public static func gpt2Style(config: ModelConfig, seed: UInt64) -> [String: Tensor] {
        let residualScale = standardDeviation / Float(2 * config.numLayers).squareRoot()
        var parameters: [String: Tensor] = [:]
        for (index, spec) in config.parameters().enumerated() {
            var tensor = Tensor(zeros: spec.shape)
            if spec.kind == .normWeight {
                tensor.data = [Float](repeating: 1, count: spec.elementCount)
            } else if spec.kind != .normBias && spec.kind != .projectionBias {
                let scale = spec.module.writesResidualStream ? residualScale : standardDeviation
                var rng = Xoshiro256StarStar(seed: seed &+ 0x9E37_79B9 &* UInt64(index + 1))
                for i in 0..<tensor.count { tensor.data[i] = scale * rng.nextGaussian() }
            }
            parameters[spec.name] = tensor
        }
        return parameters
    }
}
