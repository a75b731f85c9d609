import Foundation

extension Kernels {
    /// torch's `ignore_index` default: targets equal to it do not count.
    public static let ignoreIndex: Int32 = -100

    /// How many of `targets` count (are not ``ignoreIndex``): the denominator of the mean loss.
    public static func validTargetCount(_ targets: [Int32]) -> Int {
        var count = 0
        for target in targets where target != ignoreIndex { count += 1 }
        return count
    }

    /// Softmax cross-entropy per position, with `m = max_j z_nj`:
    ///
    /// `loss_n = log(sum_j exp(z_nj - m)) - (z_{n, target_n} - m)` (0 where `target_n == ignoreIndex`),
    /// returns `sum_n loss_n / #{n : target_n != ignoreIndex}` (torch's `reduction="mean"`).
    ///
    /// Both terms are small numbers measured from the row's maximum. The textbook
    /// `(m + log sum) - z_target` adds `log sum` (at most `log V`) to `m` and subtracts again, so
    /// for logits of 1e7..1e10 float32 keeps none of its digits (the ulp of 1e10 is 1024):
    /// a uniform row would lose `ln V` entirely. `m` and `log sum` are kept apart for the backward pass.
    /// - logits: [N, V]; targets: [N] (validated: ignoreIndex or in 0..<V); rowMax, logSum, losses: [N].
    /// - Returns: the mean loss, or nil if every target is ignored.
    public static func crossEntropy(
        rowMax: UnsafeMutablePointer<Float>, logSum: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows N: Int, vocabSize V: Int
    ) -> Float? {
        // Rows are independent: each worker fills its rows; the mean is summed after.
        Parallel.chunks(N, minimumChunk: 128, sharing: (rowMax, logSum, losses, logits, targets, V)) { shared, rows in
            let (rowMax, logSum, losses, logits, targets, V) = shared
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
                let l = Float(Foundation.log(Double(sum)))
                rowMax[n] = m
                logSum[n] = l
                let target = targets[n]
                losses[n] = target == ignoreIndex ? 0 : l - (z[Int(target)] - m)
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

    /// Backward of ``crossEntropy(rowMax:logSum:losses:logits:targets:rows:vocabSize:)`` for the loss
    /// `scale * sum_n loss_n` (the mean has `scale = 1 / #valid`; gradient accumulation over A
    /// micro-batches passes `1 / #valid of all A`):
    ///
    /// `dlogits_nj = scale (softmax_nj - [j == target_n])`, `softmax_nj = exp((z_nj - m_n) - logSum_n)`;
    /// rows whose target is ignored get 0.
    /// - dlogits, logits: [N, V] (may alias); targets, rowMax, logSum: [N].
    public static func crossEntropyBackward(
        dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, rowMax: UnsafePointer<Float>,
        logSum: UnsafePointer<Float>, targets: UnsafePointer<Int32>, scale: Float, rows N: Int, vocabSize V: Int
    ) {
        Parallel.chunks(N, minimumChunk: 128, sharing: (dlogits, logits, rowMax, logSum, targets, scale, V)) {
            shared, rows in
            let (dlogits, logits, rowMax, logSum, targets, scale, V) = shared
            let vectorEnd = V & ~7
            for n in rows {
                let z = logits + n * V, dz = dlogits + n * V
                let target = targets[n]
                if target == ignoreIndex {
                    dz.update(repeating: 0, count: V)
                    continue
                }
                let m = rowMax[n], l = logSum[n]
                let mv = V8(repeating: m), lv = V8(repeating: l), sv = V8(repeating: scale)
                var i = 0
                while i < vectorEnd { dz.store8(sv * FastMath.exp((z.load8(i) - mv) - lv), i); i += 8 }
                while i < V { dz[i] = scale * FastMath.exp((z[i] - m) - l); i += 1 }
                dz[Int(target)] -= scale
            }
        }
    }
}
