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

/// One of the three tensors of a parameter in a training state.
public enum TensorComponent: String, Sendable, Hashable, CaseIterable {
    case value
    case expAvg = "exp_avg"
    case expAvgSq = "exp_avg_sq"
}

extension TensorRecipe {
    /// The grown parameter's AdamW step: the source's when any entry carries its moments,
    /// else 0. torch keeps one step per tensor, so a tensor with both carried and new
    /// entries keeps the source's step (docs/GROWTH.md, "Moments").
    public func step(sourceStep: Int?, optimizer: OptimizerTransfer) -> Int {
        optimizer == .carry && !freshMoments && source != nil ? sourceStep ?? 0 : 0
    }

    /// The weight-decay flag: the source's, or the usual grouping for a new tensor.
    public func applyWeightDecay(source flag: Bool?) -> Bool { flag ?? spec.defaultWeightDecay }

    /// Makes one grown tensor from the same component of the source (`nil` when ``source`` is `nil`).
    /// Values follow the recipe's value scales, fill and noise; `exp_avg` is scaled by `s` and
    /// `exp_avg_sq` by `s^2`; new entries (and every entry with `reset` or fresh moments) get zero moments.
    public func make(_ component: TensorComponent, from sourceTensor: Tensor?, reference: Tensor?,
                     optimizer: OptimizerTransfer) -> Tensor {
        var out = Tensor(zeros: spec.shape)
        let isValue = component == .value
        if !isValue && (optimizer == .reset || freshMoments) { return out }
        var rng = Xoshiro256StarStar(seed: seed)
        let fillValue: Float = !isValue ? 0 : fill == .one ? 1 : 0
        let sigma: Float = {
            guard isValue, fill == .random else { return 0 }
            let rms = reference.map { Self.rms($0.data) } ?? 0
            return rms > 0 ? rms : 0.02
        }()
        let random = isValue && fill == .random
        guard let sourceTensor, source != nil else {
            for i in 0..<out.count { out.data[i] = random ? sigma * rng.nextGaussian() : fillValue }
            return out
        }
        let rows = axes[0]
        let columns = axes.count == 2 ? axes[1] : AxisMap.identity(1)
        let sourceColumns = axes.count == 2 ? sourceTensor.shape[1] : 1
        let blockDiagonal = self.blockDiagonal && axes.count == 2
        let squared = component == .expAvgSq
        let runs = ColumnRun.runs(of: columns, value: isValue)
        out.data.withUnsafeMutableBufferPointer { out in
            sourceTensor.data.withUnsafeBufferPointer { source in
                let width = columns.count
                for i in 0..<rows.count {
                    let si = Int(rows.sources[i])
                    let rowScale = isValue ? rows.valueScales[i] * valueScale : rows.gradientScales[i] * gradientScale
                    let base = i * width
                    for run in runs {
                        if si < 0 || run.source < 0 || (blockDiagonal && rows.replicas[i] != run.replica) {
                            for j in run.start..<(run.start + run.count) {
                                out[base + j] = random ? sigma * rng.nextGaussian() : fillValue
                            }
                            continue
                        }
                        var scale = rowScale * run.scale
                        if squared { scale *= scale }
                        // Consecutive sources with one scale: a contiguous, vectorizable copy.
                        let from = si * sourceColumns + run.source, to = base + run.start
                        for k in 0..<run.count { out[to + k] = source[from + k] * scale }
                    }
                }
            }
        }
        if isValue, let snr = noiseSNR, axes.count == 2 { addCancellingNoise(to: &out, snr: snr, rng: &rng) }
        return out
    }

    /// A stretch of grown columns `start..<start + count` that copies consecutive source
    /// columns from `source` (or has none: `source = -1`) with one scale and one replica.
    private struct ColumnRun {
        var start: Int, count: Int, source: Int
        var scale: Float
        var replica: Int32

        static func runs(of axis: AxisMap, value: Bool) -> [ColumnRun] {
            var runs: [ColumnRun] = []
            for j in 0..<axis.count {
                let source = Int(axis.sources[j]), scale = value ? axis.valueScales[j] : axis.gradientScales[j]
                if var last = runs.last, last.replica == axis.replicas[j], last.start + last.count == j,
                   (source < 0 && last.source < 0) || (source >= 0 && last.source >= 0 && last.scale == scale
                                                       && last.source + last.count == source) {
                    last.count += 1
                    runs[runs.count - 1] = last
                } else {
                    runs.append(ColumnRun(start: j, count: 1, source: source, scale: scale, replica: axis.replicas[j]))
                }
            }
            return runs
        }
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
