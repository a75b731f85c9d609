import Foundation
import GrowkitModel
import Testing

/// Central differences in float64 of `f` at every entry of `x`: with h = 1e-6 the truncation error
/// is ~h^2 |f'''| ~ 1e-12 and the rounding error ~1e-16 |f| / h ~ 1e-10, far below the float32
/// backward kernels' own error, so the difference measured below is the kernel's.
func centralDifferences(_ x: [Double], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var probe = x
    return x.indices.map { i in
        probe[i] = x[i] + h
        let up = f(probe)
        probe[i] = x[i] - h
        let down = f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * h)
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
func doubles(_ x: [Float]) -> [Double] { x.map(Double.init) }

/// Each backward kernel against central differences of a float64 forward of the same formula, for
/// the scalar `L = sum(r * f(x))` with a random `r` (so `dout = r`). Kernels that accumulate into
/// their outputs start from random values, which the expected gradient then includes.
@Suite("Backward kernels against float64 central differences")
struct KernelBackwardTests {
    // O(1) inputs; the float32 kernels sum at most a few dozen O(1) terms (~1e-6 relative error
    // each), so 2e-5 absolute sits well above their rounding and far below any wrong term (>1e-2).
    let tolerance = 2e-5

    @Test func embeddingScattersIntoTheRowsItRead() {
        var rng = TestRandom(seed: 31)
        let B = 2, T = 3, C = 5, V = 4
        let tokens: [Int32] = [1, 3, 1, 0, 1, 2]  // repeated tokens must add up
        let wte = rng.floats(V * C), wpe = rng.floats(T * C), r = rng.floats(B * T * C)
        let start = rng.floats(V * C), startPos = rng.floats(T * C)
        var dwte = start, dwpe = startPos
        dwte.withUnsafeMutableBufferPointer { dw in dwpe.withUnsafeMutableBufferPointer { dp in
            Kernels.embedBackward(dwte: dw.baseAddress!, dwpe: dp.baseAddress!, dout: r, tokens: tokens,
                                  batchSize: B, seqLen: T, channels: C)
        } }
        func forward(_ e: [Double], _ p: [Double]) -> Double {
            var total = 0.0
            for n in 0..<(B * T) {
                for c in 0..<C { total += Double(r[n * C + c]) * (e[Int(tokens[n]) * C + c] + p[(n % T) * C + c]) }
            }
            return total
        }
        let expectedWte = zip(doubles(start), centralDifferences(doubles(wte)) { forward($0, doubles(wpe)) }).map(+)
        let expectedWpe = zip(doubles(startPos), centralDifferences(doubles(wpe)) { forward(doubles(wte), $0) }).map(+)
        #expect(maxAbsDiff(dwte, expectedWte) < tolerance)
        #expect(maxAbsDiff(dwpe, expectedWpe) < tolerance)
    }

    @Test(arguments: [false, true])
    func linear(accumulateInput: Bool) {
        var rng = TestRandom(seed: 32)
        let N = 5, inF = 7, outF = 19  // two blocks of 16 output features, one partial
        let x = rng.floats(N * inF), w = rng.floats(outF * inF), b = rng.floats(outF), r = rng.floats(N * outF)
        let startX = rng.floats(N * inF), startW = rng.floats(outF * inF), startB = rng.floats(outF)
        var dx = startX, dw = startW, db = startB
        dx.withUnsafeMutableBufferPointer { dxp in dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                Kernels.linearBackward(dinp: dxp.baseAddress!, dweight: dwp.baseAddress!, dbias: dbp.baseAddress!,
                                       dout: r, inp: x, weight: w, rows: N, inFeatures: inF, outFeatures: outF,
                                       accumulateInput: accumulateInput)
            }
        } }
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var total = 0.0
            for n in 0..<N {
                for o in 0..<outF {
                    var y = b[o]
                    for i in 0..<inF { y += x[n * inF + i] * w[o * inF + i] }
                    total += Double(r[n * outF + o]) * y
                }
            }
            return total
        }
        let X = doubles(x), W = doubles(w), Bv = doubles(b)
        let gx = centralDifferences(X) { forward($0, W, Bv) }
        #expect(maxAbsDiff(dx, accumulateInput ? zip(doubles(startX), gx).map(+) : gx) < tolerance)
        #expect(maxAbsDiff(dw, zip(doubles(startW), centralDifferences(W) { forward(X, $0, Bv) }).map(+)) < tolerance)
        #expect(maxAbsDiff(db, zip(doubles(startB), centralDifferences(Bv) { forward(X, W, $0) }).map(+)) < tolerance)
    }

    @Test(arguments: [(true, 5), (true, 19), (false, 5), (false, 19)])
    func norm(layerNorm: Bool, channels C: Int) {
        var rng = TestRandom(seed: 33)
        let N = 6, eps: Float = 1e-5
        let x = rng.floats(N * C, scale: 2).map { $0 + 0.5 }, w = rng.floats(C), b = rng.floats(C), r = rng.floats(N * C)
        var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
        out.withUnsafeMutableBufferPointer { o in mean.withUnsafeMutableBufferPointer { m in
            rstd.withUnsafeMutableBufferPointer { s in
                if layerNorm {
                    Kernels.layerNorm(out: o.baseAddress!, mean: m.baseAddress!, rstd: s.baseAddress!, inp: x, weight: w,
                                      bias: b, rows: N, channels: C, eps: eps)
                } else {
                    Kernels.rmsNorm(out: o.baseAddress!, rstd: s.baseAddress!, inp: x, weight: w, rows: N, channels: C,
                                    eps: eps)
                }
            }
        } }
        let startX = rng.floats(N * C), startW = rng.floats(C), startB = rng.floats(C)
        var dx = startX, dw = startW, db = startB
        dx.withUnsafeMutableBufferPointer { dxp in dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                Kernels.normBackward(dinp: dxp.baseAddress!, dweight: dwp.baseAddress!,
                                     dbias: layerNorm ? dbp.baseAddress! : nil, dout: r, inp: x,
                                     mean: layerNorm ? mean : nil, rstd: rstd, weight: w, rows: N, channels: C)
            }
        } }
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var total = 0.0
            for n in 0..<N {
                let row = Array(x[(n * C)..<((n + 1) * C)])
                let mu = layerNorm ? row.reduce(0, +) / Double(C) : 0
                let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(C)
                let s = 1 / (variance + Double(eps)).squareRoot()
                for c in 0..<C {
                    total += Double(r[n * C + c]) * ((row[c] - mu) * s * w[c] + (layerNorm ? b[c] : 0))
                }
            }
            return total
        }
        let X = doubles(x), W = doubles(w), Bv = doubles(b)
        #expect(maxAbsDiff(dx, zip(doubles(startX), centralDifferences(X) { forward($0, W, Bv) }).map(+)) < tolerance)
        #expect(maxAbsDiff(dw, zip(doubles(startW), centralDifferences(W) { forward(X, $0, Bv) }).map(+)) < tolerance)
        if layerNorm {
            #expect(maxAbsDiff(db, zip(doubles(startB), centralDifferences(Bv) { forward(X, W, $0) }).map(+)) < tolerance)
        }
    }

    @Test(arguments: [6, 20])
    func rope(headDim hd: Int) {
        var rng = TestRandom(seed: 34)
        let B = 2, T = 5, heads = 3, stride = heads * hd + 4  // a row stride wider than the heads, as in qkv
        let half = hd / 2
        var cosT = [Float](repeating: 0, count: T * half), sinT = cosT
        cosT.withUnsafeMutableBufferPointer { c in sinT.withUnsafeMutableBufferPointer { s in
            Kernels.ropeTables(cos: c.baseAddress!, sin: s.baseAddress!, seqLen: T, headDim: hd, theta: 500)
        } }
        let x = rng.floats(B * T * stride), r = rng.floats(B * T * stride)
        var dx = r
        dx.withUnsafeMutableBufferPointer {
            Kernels.ropeBackward($0.baseAddress!, cos: cosT, sin: sinT, batchSize: B, seqLen: T, heads: heads,
                                 headDim: hd, rowStride: stride)
        }
        func forward(_ x: [Double]) -> Double {
            var y = x  // columns past the heads pass through untouched
            for n in 0..<(B * T) {
                let t = n % T
                for h in 0..<heads {
                    for i in 0..<half {
                        let lo = n * stride + h * hd + i, hi = lo + half
                        let c = Double(cosT[t * half + i]), s = Double(sinT[t * half + i])
                        y[lo] = x[lo] * c - x[hi] * s
                        y[hi] = x[hi] * c + x[lo] * s
                    }
                }
            }
            return dot(y, doubles(r))
        }
        #expect(maxAbsDiff(dx, centralDifferences(doubles(x), forward)) < tolerance)
    }

    @Test(arguments: [(4, 2, 6, 3), (4, 1, 5, 64), (2, 2, 16, 4), (6, 3, 8, 64)])
    func causalGroupedQueryAttention(heads: Int, kvHeads: Int, headDim hd: Int, blockRows: Int) {
        var rng = TestRandom(seed: 35)
        let B = 2, T = 7, qw = heads * hd, kvw = kvHeads * hd
        let q = rng.floats(B * T * qw), k = rng.floats(B * T * kvw), v = rng.floats(B * T * kvw)
        let r = rng.floats(B * T * qw)
        var out = [Float](repeating: 0, count: B * T * qw), probs = [Float](repeating: 0, count: B * heads * T * T)
        var vt = [Float](repeating: 0, count: B * T * kvw)
        out.withUnsafeMutableBufferPointer { o in probs.withUnsafeMutableBufferPointer { p in
            vt.withUnsafeMutableBufferPointer { t in
                Kernels.causalAttention(out: o.baseAddress!, probs: p.baseAddress!, q: q, k: k, v: v,
                                        valuesTransposed: t.baseAddress!, batchSize: B, seqLen: T, heads: heads,
                                        kvHeads: kvHeads, headDim: hd, blockRows: blockRows)
            }
        } }
        var dq = [Float](repeating: 0, count: B * T * qw), dk = rng.floats(B * T * kvw), dv = rng.floats(B * T * kvw)
        var scores = probs, kt = vt
        dq.withUnsafeMutableBufferPointer { dqp in dk.withUnsafeMutableBufferPointer { dkp in
            dv.withUnsafeMutableBufferPointer { dvp in scores.withUnsafeMutableBufferPointer { s in
                kt.withUnsafeMutableBufferPointer { ktp in
                    Kernels.causalAttentionBackward(
                        dq: dqp.baseAddress!, dk: dkp.baseAddress!, dv: dvp.baseAddress!, dscores: s.baseAddress!,
                        keysTransposed: ktp.baseAddress!, dout: r, probs: probs, q: q, k: k, v: v, batchSize: B,
                        seqLen: T, heads: heads, kvHeads: kvHeads, headDim: hd, blockRows: blockRows)
                }
            } }
        } }
        func forward(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            var total = 0.0
            for b in 0..<B {
                func rows(_ x: [Double], _ width: Int) -> [[Double]] {
                    (0..<T).map { Array(x[((b * T + $0) * width)..<((b * T + $0 + 1) * width)]) }
                }
                let y = NaiveModel.attention(q: rows(q, qw), k: rows(k, kvw), v: rows(v, kvw), heads: heads,
                                             kvHeads: kvHeads, headDim: hd)
                for t in 0..<T { for i in 0..<qw { total += Double(r[(b * T + t) * qw + i]) * y[t][i] } }
            }
            return total
        }
        let Q = doubles(q), K = doubles(k), Vv = doubles(v)
        #expect(maxAbsDiff(dq, centralDifferences(Q) { forward($0, K, Vv) }) < tolerance)
        #expect(maxAbsDiff(dk, centralDifferences(K) { forward(Q, $0, Vv) }) < tolerance)
        #expect(maxAbsDiff(dv, centralDifferences(Vv) { forward(Q, K, $0) }) < tolerance)
    }

    @Test func geluTanh() {
        var rng = TestRandom(seed: 36)
        let x = rng.floats(21, scale: 4), r = rng.floats(21)  // two vectors and a tail; |x| up to 4
        var dx = [Float](repeating: 0, count: 21)
        dx.withUnsafeMutableBufferPointer { Kernels.geluTanhBackward(dinp: $0.baseAddress!, dout: r, inp: x, count: 21) }
        let expected = centralDifferences(doubles(x)) { dot($0.map(NaiveModel.gelu), doubles(r)) }
        #expect(maxAbsDiff(dx, expected) < tolerance)
    }

    @Test func swiglu() {
        var rng = TestRandom(seed: 37)
        let N = 3, I = 11, stride = 2 * I  // the fused gate/up layout: per row gate then up
        let gateUp = rng.floats(N * stride, scale: 3), r = rng.floats(N * I)
        var d = [Float](repeating: 0, count: N * stride)
        d.withUnsafeMutableBufferPointer { dp in gateUp.withUnsafeBufferPointer { gu in
            Kernels.swigluBackward(dgate: dp.baseAddress!, dup: dp.baseAddress! + I, dout: r, gate: gu.baseAddress!,
                                   up: gu.baseAddress! + I, rows: N, columns: I, inputRowStride: stride)
        } }
        let expected = centralDifferences(doubles(gateUp)) { x in
            var total = 0.0
            for n in 0..<N { for i in 0..<I { total += Double(r[n * I + i]) * NaiveModel.silu(x[n * stride + i]) * x[n * stride + I + i] } }
            return total
        }
        #expect(maxAbsDiff(d, expected) < tolerance)
    }

    @Test func crossEntropyOfTheMeanLoss() {
        var rng = TestRandom(seed: 38)
        let N = 5, V = 13
        let logits = rng.floats(N * V, scale: 3)
        let targets: [Int32] = [3, -100, 0, 12, 5]
        var rowMax = [Float](repeating: 0, count: N), logSum = rowMax, losses = rowMax
        rowMax.withUnsafeMutableBufferPointer { m in logSum.withUnsafeMutableBufferPointer { l in
            losses.withUnsafeMutableBufferPointer { ls in
                _ = Kernels.crossEntropy(rowMax: m.baseAddress!, logSum: l.baseAddress!, losses: ls.baseAddress!,
                                         logits: logits, targets: targets, rows: N, vocabSize: V)
            }
        } }
        var dlogits = [Float](repeating: 0, count: N * V)
        dlogits.withUnsafeMutableBufferPointer {
            Kernels.crossEntropyBackward(dlogits: $0.baseAddress!, logits: logits, rowMax: rowMax, logSum: logSum,
                                         targets: targets, scale: 1 / 4, rows: N, vocabSize: V)
        }
        let expected = centralDifferences(doubles(logits)) { z in
            NaiveModel.crossEntropy(logits: (0..<N).map { Array(z[($0 * V)..<(($0 + 1) * V)]) },
                                    targets: targets.map(Int.init))
        }
        #expect(maxAbsDiff(dlogits, expected) < tolerance)
        #expect(dlogits[V..<(2 * V)].allSatisfy { $0 == 0 })  // the ignored row
    }
}

/// Issue 9, item 7: the loss of huge logits. The float64 reference is computed from the same
/// float32 logits, as `log sum exp(z - m) - (z_t - m)`; `z - m` is exact in float32 whenever it
/// matters (Sterbenz: two floats within a factor 2 subtract exactly; farther apart, exp underflows).
@Suite("Cross-entropy precision at logits of 1e7..1e10")
struct CrossEntropyPrecisionTests {
    func loss(_ logits: [Float], _ targets: [Int32], V: Int) -> (Float, [Float]) {
        let N = targets.count
        var rowMax = [Float](repeating: 0, count: N), logSum = rowMax, losses = rowMax
        let mean = rowMax.withUnsafeMutableBufferPointer { m in logSum.withUnsafeMutableBufferPointer { l in
            losses.withUnsafeMutableBufferPointer { ls in
                Kernels.crossEntropy(rowMax: m.baseAddress!, logSum: l.baseAddress!, losses: ls.baseAddress!,
                                     logits: logits, targets: targets, rows: N, vocabSize: V)
            }
        } }
        return (mean!, losses)
    }

    @Test(arguments: [1e7, 1e8, 1e9, 1e10] as [Float])
    func uniformRowIsLogV(scale: Float) {
        let V = 256
        let (mean, _) = loss([Float](repeating: scale, count: V), [17], V: V)
        // Exactly ln 256 up to float32 rounding of the log (1 ulp of 5.5 is 4.8e-7); the old formula
        // gave 0 here (ln 256 is lost next to 1e10, whose ulp is 1024).
        #expect(abs(Double(mean) - log(256.0)) <= 1e-6, "\(mean) vs ln 256")
    }

    @Test(arguments: [1e7, 1e8, 1e9, 1e10] as [Float])
    func scaledRandomRowsMatchFloat64(scale: Float) {
        var rng = TestRandom(seed: 40)
        let V = 64, N = 4
        // Rows of huge logits that differ by O(1): a shift of a moderate row by `scale`, plus one
        // row spread over the whole range.
        var logits = (0..<(N * V)).map { _ in scale + rng.uniform() * 4 }
        for j in 0..<V { logits[3 * V + j] = scale * (1 + rng.uniform()) }
        let targets: [Int32] = [0, 5, 63, 7]
        let (mean, losses) = loss(logits, targets, V: V)
        var total = 0.0
        for n in 0..<N {
            let row = logits[(n * V)..<((n + 1) * V)].map(Double.init)
            let m = row.max()!
            let expected = log(row.map { exp($0 - m) }.reduce(0, +)) - (row[Int(targets[n])] - m)
            total += expected
            // float32 holds 7 digits of each term: relative 1e-6 (plus 1e-6 absolute for terms near 0).
            #expect(abs(Double(losses[n]) - expected) <= 1e-6 + 1e-6 * abs(expected), "row \(n): \(losses[n]) vs \(expected)")
        }
        #expect(abs(Double(mean) - total / Double(N)) <= 1e-6 * max(1, total / Double(N)))
    }
}
