import Foundation
import GrowkitModel
import Numerics
import Testing

/// Runs `body` with mutable pointers to copies of the arrays, returning what the kernel wrote.
func withPointers(_ a: inout [Float], _ body: (UnsafeMutablePointer<Float>) -> Void) {
    a.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

/// Largest |a_i - b_i|.
func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

@Suite("Forward kernels against naive Double implementations")
struct KernelTests {
    // Inputs are O(1); float32 results of reductions over <= 70 terms carry errors ~1e-6,
    // so 1e-5 absolute is tight enough to catch any wrong formula (those err by >1e-2).
    let tolerance = 1e-5

    @Test(arguments: [5, 16, 19])
    func layerNorm(channels C: Int) {
        var rng = TestRandom(seed: 1)
        let N = 6
        let x = rng.floats(N * C, scale: 3).map { $0 + 1.5 }, w = rng.floats(C), b = rng.floats(C)
        var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { o in mean.withUnsafeMutableBufferPointer { m in
                rstd.withUnsafeMutableBufferPointer { r in
                    Kernels.layerNorm(out: o.baseAddress!, mean: m.baseAddress!, rstd: r.baseAddress!,
                                      inp: xp.baseAddress!, weight: w, bias: b, rows: N, channels: C, eps: 1e-5)
                }
            } }
        }
        var expected: [Double] = [], expectedMean: [Double] = [], expectedRstd: [Double] = []
        for n in 0..<N {
            let row = x[(n * C)..<((n + 1) * C)].map(Double.init)
            let mu = row.reduce(0, +) / Double(C)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(C)
            let s = 1 / (variance + 1e-5).squareRoot()
            expectedMean.append(mu)
            expectedRstd.append(s)
            for c in 0..<C { expected.append((row[c] - mu) * s * Double(w[c]) + Double(b[c])) }
        }
        #expect(maxAbsDiff(out, expected) < tolerance)
        #expect(maxAbsDiff(mean, expectedMean) < tolerance)
        #expect(maxAbsDiff(rstd, expectedRstd) < tolerance)
    }

    @Test(arguments: [5, 16, 19])
    func rmsNorm(channels C: Int) {
        var rng = TestRandom(seed: 2)
        let N = 6
        let x = rng.floats(N * C, scale: 3), w = rng.floats(C)
        var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
        out.withUnsafeMutableBufferPointer { o in rstd.withUnsafeMutableBufferPointer { r in
            Kernels.rmsNorm(out: o.baseAddress!, rstd: r.baseAddress!, inp: x, weight: w, rows: N, channels: C,
                            eps: 1e-6)
        } }
        var expected: [Double] = []
        for n in 0..<N {
            let row = x[(n * C)..<((n + 1) * C)].map(Double.init)
            let s = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(C) + 1e-6).squareRoot()
            for c in 0..<C { expected.append(Double(w[c]) * row[c] * s) }
        }
        #expect(maxAbsDiff(out, expected) < tolerance)
    }

    @Test(arguments: [4, 6, 20])
    func ropeRotatesHalvesOfEachHead(headDim hd: Int) {
        var rng = TestRandom(seed: 3)
        let B = 2, T = 5, heads = 3, theta = 10_000.0
        var x = rng.floats(B * T * heads * hd)
        let original = x.map(Double.init)
        var cosT = [Float](repeating: 0, count: T * hd / 2), sinT = cosT
        cosT.withUnsafeMutableBufferPointer { c in sinT.withUnsafeMutableBufferPointer { s in
            Kernels.ropeTables(cos: c.baseAddress!, sin: s.baseAddress!, seqLen: T, headDim: hd, theta: theta)
        } }
        withPointers(&x) {
            Kernels.rope($0, cos: cosT, sin: sinT, batchSize: B, seqLen: T, heads: heads, headDim: hd,
                         rowStride: heads * hd)
        }
        // Naive: rotate the pair (i, i + hd/2) by angle t / theta^(2i/hd).
        var expected = original
        for b in 0..<B { for t in 0..<T { for h in 0..<heads {
            let base = ((b * T + t) * heads + h) * hd
            for i in 0..<(hd / 2) {
                let angle = Double(t) / pow(theta, Double(2 * i) / Double(hd))
                let x1 = original[base + i], x2 = original[base + i + hd / 2]
                expected[base + i] = x1 * cos(angle) - x2 * sin(angle)
                expected[base + i + hd / 2] = x2 * cos(angle) + x1 * sin(angle)
            }
        } } }
        #expect(maxAbsDiff(x, expected) < tolerance)
    }

    @Test(arguments: [(4, 4, 8, 64), (4, 2, 6, 64), (6, 1, 5, 3), (2, 2, 16, 7)])
    func causalGroupedQueryAttention(heads: Int, kvHeads: Int, headDim hd: Int, blockRows: Int) {
        var rng = TestRandom(seed: 4)
        let B = 2, T = 11
        let q = rng.floats(B * T * heads * hd, scale: 2), k = rng.floats(B * T * kvHeads * hd, scale: 2)
        let v = rng.floats(B * T * kvHeads * hd)
        var out = [Float](repeating: 0, count: B * T * heads * hd)
        var probs = [Float](repeating: .nan, count: B * heads * T * T)  // every entry must be written
        var scratch = [Float](repeating: .nan, count: v.count)
        out.withUnsafeMutableBufferPointer { o in probs.withUnsafeMutableBufferPointer { p in
            scratch.withUnsafeMutableBufferPointer { s in
                Kernels.causalAttention(out: o.baseAddress!, probs: p.baseAddress!, q: q, k: k, v: v,
                                        valuesTransposed: s.baseAddress!, batchSize: B, seqLen: T, heads: heads,
                                        kvHeads: kvHeads, headDim: hd, blockRows: blockRows)
            }
        } }
        var expectedOut = [Double](repeating: 0, count: out.count)
        var expectedProbs = [Double](repeating: 0, count: probs.count)
        for b in 0..<B { for h in 0..<heads {
            let g = h / (heads / kvHeads)
            for t in 0..<T {
                var scores = [Double]()
                for j in 0...t {
                    var dot = 0.0
                    for i in 0..<hd {
                        dot += Double(q[(b * T + t) * heads * hd + h * hd + i]) * Double(k[(b * T + j) * kvHeads * hd + g * hd + i])
                    }
                    scores.append(dot / Double(hd).squareRoot())
                }
                let m = scores.max()!
                let z = scores.map { exp($0 - m) }.reduce(0, +)
                for j in 0...t {
                    let pj = exp(scores[j] - m) / z
                    expectedProbs[((b * heads + h) * T + t) * T + j] = pj
                    for i in 0..<hd {
                        expectedOut[(b * T + t) * heads * hd + h * hd + i] += pj * Double(v[(b * T + j) * kvHeads * hd + g * hd + i])
                    }
                }
            }
        } }
        #expect(maxAbsDiff(probs, expectedProbs) < tolerance)
        #expect(maxAbsDiff(out, expectedOut) < tolerance)
    }

    @Test func geluTanhMatchesTheFormula() {
        // Covers the polynomial branch of tanh (small |u|), the exponential branch and saturation.
        var x = (0..<203).map { Float($0 - 101) / 10 }
        let expected = x.map { v -> Double in
            let d = Double(v)
            return 0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
        }
        withPointers(&x) { Kernels.geluTanh(out: $0, inp: $0, count: 203) }
        // |gelu| <= |x| <= 10, so 1e-5 absolute is ~1e-6 relative at the ends.
        #expect(maxAbsDiff(x, expected) < tolerance)
    }

    @Test func elementwiseKernelsSplitOverWorkersMatchTheFormula() {
        // 70_070 elements (70 rows of 1_001): above the parallel thresholds, with scalar tails.
        var rng = TestRandom(seed: 9)
        let count = 70_070
        let x = rng.floats(count, scale: 8), up = rng.floats(count, scale: 2)
        var gelu = [Float](repeating: 0, count: count), glu = gelu
        withPointers(&gelu) { Kernels.geluTanh(out: $0, inp: x, count: count) }
        // SwiGLU reads gate and up as the two column halves of a fused [rows, 2 * columns] buffer.
        let rows = 70, columns = 1_001
        var gateUp = [Float](repeating: 0, count: rows * 2 * columns)
        for n in 0..<rows {
            for i in 0..<columns {
                gateUp[n * 2 * columns + i] = x[n * columns + i]
                gateUp[n * 2 * columns + columns + i] = up[n * columns + i]
            }
        }
        gateUp.withUnsafeBufferPointer { g in
            withPointers(&glu) {
                Kernels.swiglu(out: $0, gate: g.baseAddress!, up: g.baseAddress! + columns, rows: rows,
                               columns: columns, inputRowStride: 2 * columns)
            }
        }
        let expectedGelu = x.map { v -> Double in
            let d = Double(v)
            return 0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
        }
        let expectedGlu = zip(x, up).map { g, u in Double(g) / (1 + exp(-Double(g))) * Double(u) }
        #expect(maxAbsDiff(gelu, expectedGelu) < tolerance)
        #expect(maxAbsDiff(glu, expectedGlu) < tolerance)
    }

    @Test func swigluIsSiluOfGateTimesUp() {
        var rng = TestRandom(seed: 5)
        let gate = rng.floats(101, scale: 12), up = rng.floats(101, scale: 2)
        var out = [Float](repeating: 0, count: 101)
        withPointers(&out) { Kernels.swiglu(out: $0, gate: gate, up: up, rows: 1, columns: 101, inputRowStride: 101) }
        let expected = zip(gate, up).map { g, u in Double(g) / (1 + exp(-Double(g))) * Double(u) }
        #expect(maxAbsDiff(out, expected) < tolerance)
    }

    @Test func crossEntropyIsStableMeanOverValidTargets() throws {
        var rng = TestRandom(seed: 6)
        let N = 7, V = 13
        // Large logits: a naive exp would overflow float32.
        var logits = rng.floats(N * V, scale: 50)
        logits[3] = 300
        let targets: [Int32] = [3, -100, 0, 12, 5, -100, 7]
        var lse = [Float](repeating: 0, count: N), losses = lse, maxes = lse
        let loss = lse.withUnsafeMutableBufferPointer { l in losses.withUnsafeMutableBufferPointer { ls in
            maxes.withUnsafeMutableBufferPointer { m in
                Kernels.crossEntropy(rowMax: m.baseAddress!, logSum: l.baseAddress!, losses: ls.baseAddress!,
                                     logits: logits, targets: targets, rows: N, vocabSize: V)
            }
        } }
        var total = 0.0, count = 0.0
        for n in 0..<N where targets[n] != -100 {
            let row = logits[(n * V)..<((n + 1) * V)].map(Double.init)
            let m = row.max()!
            let l = m + log(row.map { exp($0 - m) }.reduce(0, +))
            total += l - row[Int(targets[n])]
            count += 1
        }
        let value = try #require(loss)
        #expect(value.isFinite)
        // Loss terms are up to ~100 here; float32 logits carry ~1e-5 absolute, so 1e-6 relative.
        #expect(Double(value).isApproximatelyEqual(to: total / count, relativeTolerance: 1e-6))
        #expect(losses[1] == 0 && losses[5] == 0)
        let allIgnored = [Int32](repeating: -100, count: N)
        let none = lse.withUnsafeMutableBufferPointer { l in losses.withUnsafeMutableBufferPointer { ls in
            maxes.withUnsafeMutableBufferPointer { m in
                Kernels.crossEntropy(rowMax: m.baseAddress!, logSum: l.baseAddress!, losses: ls.baseAddress!,
                                     logits: logits, targets: allIgnored, rows: N, vocabSize: V)
            }
        } }
        #expect(none == nil)
    }

    @Test func linearAddsBiasAndAccumulates() {
        var rng = TestRandom(seed: 7)
        let N = 3, inF = 5, outF = 4
        let x = rng.floats(N * inF), w = rng.floats(outF * inF), b = rng.floats(outF)
        let start = rng.floats(N * outF)
        var y = start
        withPointers(&y) {
            Kernels.linear(out: $0, inp: x, weight: w, bias: b, rows: N, inFeatures: inF, outFeatures: outF,
                           accumulate: true)
        }
        var expected = [Double]()
        for n in 0..<N { for o in 0..<outF {
            var s = Double(start[n * outF + o]) + Double(b[o])
            for i in 0..<inF { s += Double(x[n * inF + i]) * Double(w[o * inF + i]) }
            expected.append(s)
        } }
        #expect(maxAbsDiff(y, expected) < tolerance)
    }

    /// Every ``MatmulThreading`` mode computes the same products: 70 rows and 70 output columns
    /// are enough for both splits to cut the work in two (rows in chunks of >= 32, columns in
    /// blocks of 16 with a 6-column remainder), with and without accumulation.
    @Test(arguments: MatmulThreading.allCases, [false, true])
    func linearSplitsMatchNaive(threading: MatmulThreading, accumulate: Bool) {
        var rng = TestRandom(seed: 11)
        let N = 70, inF = 9, outF = 70
        let x = rng.floats(N * inF), w = rng.floats(outF * inF), b = rng.floats(outF)
        let start = rng.floats(N * outF)
        var y = start
        // Not wrapped in `Parallel.withMatmulThreading`: OpenBLAS's thread count is process-wide and
        // tests run concurrently; the split is correct (only oversubscribed) with OpenBLAS threaded.
        withPointers(&y) { out in
            Kernels.linear(out: out, inp: x, weight: w, bias: b, rows: N, inFeatures: inF, outFeatures: outF,
                           accumulate: accumulate, threading: threading)
        }
        var expected = [Double]()
        for n in 0..<N { for o in 0..<outF {
            var s = (accumulate ? Double(start[n * outF + o]) : 0) + Double(b[o])
            for i in 0..<inF { s += Double(x[n * inF + i]) * Double(w[o * inF + i]) }
            expected.append(s)
        } }
        // Sums of 10 terms of magnitude <= 1 in float32: rounding well under 1e-5.
        #expect(maxAbsDiff(y, expected) < tolerance)
    }
}
