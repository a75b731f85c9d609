import Foundation

extension Kernels {
    /// torch's `ignore_index` default: targets equal to it do not count.
    public static let ignoreIndex: Int32 = -100

    /// Softmax cross-entropy per position, computed stably with log-sum-exp:
    ///
    /// `lse_n = m + log(sum_j exp(z_nj - m))` with `m = max_j z_nj`,
    /// `loss_n = lse_n - z_{n, target_n}` (0 where `target_n == ignoreIndex`),
    /// returns `sum_n loss_n / #{n : target_n != ignoreIndex}` (torch's `reduction="mean"`).
    /// The backward pass rebuilds `softmax = exp(z - lse)` from the kept `lse`.
    /// - logits: [N, V]; targets: [N] (validated: ignoreIndex or in 0..<V); lse, losses: [N].
    /// - Returns: the mean loss, or nil if every target is ignored.
    public static func crossEntropy(
        lse: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows N: Int, vocabSize V: Int
    ) -> Float? {
        // Rows are independent: each worker fills lse and losses for its rows; the mean is summed after.
        Parallel.chunks(N, minimumChunk: 128, sharing: (lse, losses, logits, targets, V)) { shared, rows in
            let (lse, losses, logits, targets, V) = shared
            let vectorEnd = V & ~7
            for n in rows {
                let z = logits + n * V
                var maxv = V8(repeating: -.infinity)
                var i = 0
                while i < vectorEnd { maxv = FastMath.max(maxv, z.load8(i)); i += 8 }
                var m = maxv.max()
                while i < V { m = Swift.max(m, z[i]); i += 1 }
                let mv = V8(repeating: m)
                var acc = V8()
                i = 0
                while i < vectorEnd { acc += FastMath.exp(z.load8(i) - mv); i += 8 }
                var sum = acc.sum()
                while i < V { sum += FastMath.exp(z[i] - m); i += 1 }
                let l = m + Float(Foundation.log(Double(sum)))
                lse[n] = l
                let target = targets[n]
                losses[n] = target == ignoreIndex ? 0 : l - z[Int(target)]
            }
        }
        var total = 0.0
        var valid = 0
        for n in 0..<N where targets[n] != ignoreIndex {
            total += Double(losses[n])
            valid += 1
        }
        return valid == 0 ? nil : Float(total / Double(valid))
    }
}
