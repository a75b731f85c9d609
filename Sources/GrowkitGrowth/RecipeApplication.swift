#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import GrowkitRandom
import GrowkitState

/// What happens to the Adam moments at growth (`grow --optimizer`).
public enum OptimizerTransfer: String, Sendable, Hashable, CaseIterable, Codable {
    /// Moments by the gradient-scale rule of ``TensorRecipe``, per-parameter step kept.
    case carry
    /// Every moment zero and every step 0: a fresh AdamW, as the stacking paper does.
    case reset
}

extension TensorRecipe {
    /// Makes the grown tensor and its AdamW state from its source's.
    ///
    /// - Parameters:
    ///   - source: the value and AdamW state of ``source`` (ignored when `source` is `nil`).
    ///   - reference: the tensor named ``randomReference``, whose RMS sets the spread of random fills.
    ///   - optimizer: ``OptimizerTransfer/reset`` leaves every moment zero and the step 0.
    /// - Returns: the grown value and state. The step is the source's when any entry was
    ///   carried, else 0. torch keeps one step per tensor, so a tensor with both carried
    ///   and new entries keeps the source's step (docs/GROWTH.md, "Moments").
    public func apply(source state: (value: Tensor, state: AdamParameterState)?, reference: Tensor?,
                      optimizer: OptimizerTransfer) -> (Tensor, AdamParameterState) {
        let shape = spec.shape
        var value = Tensor(zeros: shape)
        var expAvg = Tensor(zeros: shape)
        var expAvgSq = Tensor(zeros: shape)
        let fillValue: Float = fill == .one ? 1 : 0
        var rng = Xoshiro256StarStar(seed: seed)
        let sigma: Float = {
            guard fill == .random else { return 0 }
            let rms = reference.map { Self.rms($0.data) } ?? 0
            return rms > 0 ? rms : 0.02
        }()
        func fillEntry() -> Float { fill == .random ? sigma * rng.nextGaussian() : fillValue }
        let carry = optimizer == .carry && !freshMoments
        let decays = state?.state.applyWeightDecay ?? spec.defaultWeightDecay

        guard let state, source != nil else {
            for i in 0..<value.count { value.data[i] = fillEntry() }
            return (value, AdamParameterState(expAvg: expAvg, expAvgSq: expAvgSq, step: 0, applyWeightDecay: decays))
        }
        let rows = axes[0]
        let columns = axes.count == 2 ? axes[1] : AxisMap.identity(1)
        let sourceColumns = axes.count == 2 ? state.value.shape[1] : 1
        let blockDiagonal = self.blockDiagonal && axes.count == 2
        value.data.withUnsafeMutableBufferPointer { out in
        expAvg.data.withUnsafeMutableBufferPointer { m in
        expAvgSq.data.withUnsafeMutableBufferPointer { v in
        state.value.data.withUnsafeBufferPointer { w in
        state.state.expAvg.data.withUnsafeBufferPointer { m0 in
        state.state.expAvgSq.data.withUnsafeBufferPointer { v0 in
            let width = columns.count
            for i in 0..<rows.count {
                let si = Int(rows.sources[i])
                let rowValue = rows.valueScales[i] * valueScale
                let rowGradient = rows.gradientScales[i] * gradientScale
                let base = i * width
                for j in 0..<width {
                    let sj = Int(columns.sources[j])
                    if si < 0 || sj < 0 || (blockDiagonal && rows.replicas[i] != columns.replicas[j]) {
                        out[base + j] = fillEntry()
                        continue
                    }
                    let from = si * sourceColumns + sj
                    out[base + j] = w[from] * rowValue * columns.valueScales[j]
                    if carry {
                        let s = rowGradient * columns.gradientScales[j]
                        m[base + j] = m0[from] * s
                        v[base + j] = v0[from] * (s * s)
                    }
                }
            }
        }}}}}}
        if let snr = noiseSNR, axes.count == 2 { addCancellingNoise(to: &value, snr: snr, rng: &rng) }
        let step = carry ? state.state.step : 0
        return (value, AdamParameterState(expAvg: expAvg, expAvgSq: expAvgSq, step: step, applyWeightDecay: decays))
    }

    /// HyperCloning's symmetry breaking (Samragh et al. 2024): the input columns are
    /// `n` tiled blocks of width `d` that read `n` equal copies of the same vector, so
    /// adding `+N` to block `2k` and `-N` to block `2k + 1` leaves every output
    /// unchanged while the copies' weights differ. `N ~ N(0, sigma^2)` with
    /// `sigma = RMS(W') * 10^(-SNR / 20)`. With odd `n` the last block gets none.
    private func addCancellingNoise(to value: inout Tensor, snr: Double, rng: inout Xoshiro256StarStar) {
        let columns = axes[1]
        let blocks = Int(columns.replicas.max() ?? 0) + 1
        guard blocks >= 2, columns.count % blocks == 0 else { return }
        let d = columns.count / blocks
        let sigma = Self.rms(value.data) * Float(pow(10, -snr / 20))
        let width = columns.count
        for i in 0..<value.shape[0] {
            for pair in 0..<(blocks / 2) {
                let plus = i * width + 2 * pair * d, minus = plus + d
                for j in 0..<d {
                    let noise = sigma * rng.nextGaussian()
                    value.data[plus + j] += noise
                    value.data[minus + j] -= noise
                }
            }
        }
    }

    static func rms(_ data: [Float]) -> Float {
        guard !data.isEmpty else { return 0 }
        var sum = 0.0
        for x in data { sum += Double(x) * Double(x) }
        return Float((sum / Double(data.count)).squareRoot())
    }
}
