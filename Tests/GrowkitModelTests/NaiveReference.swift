import Foundation
import GrowkitCheckpoint
import GrowkitState

// An independent, deliberately naive reference: Double precision, plain loops,
// tensors looked up by name, no code shared with the kernels under test.

/// SplitMix64 (Steele, Lea and Flood 2014): deterministic test data without depending on other modules.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in uniform() * scale } }
    mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Random parameters for `config`: matrices with scale 0.4, norm weights near 1, biases near 0.
func randomParameters(_ config: ModelConfig, seed: UInt64) -> [String: Tensor] {
    var rng = TestRandom(seed: seed)
    var out: [String: Tensor] = [:]
    for spec in config.parameters() {
        var data = rng.floats(spec.elementCount, scale: spec.shape.count == 2 ? 0.4 : 0.2)
        if spec.name.hasSuffix("norm.weight") { data = data.map { 1 + $0 } }
        out[spec.name] = Tensor(shape: spec.shape, data: data)
    }
    return out
}

/// The naive model: logits [B*T*V] in Double and the mean loss.
struct NaiveModel {
    let config: ModelConfig
    let p: [String: Tensor]

    func w(_ name: String) -> [Double] { p[name]!.data.map(Double.init) }
    func maybe(_ name: String) -> [Double]? { p[name].map { $0.data.map(Double.init) } }

    /// y[n][o] = sum_i x[n][i] * W[o][i] + b[o]
    func linear(_ x: [[Double]], _ name: String) -> [[Double]] {
        let W = w(name + ".weight"), b = maybe(name + ".bias")
        let inF = x[0].count, outF = W.count / inF
        return x.map { row in
            (0..<outF).map { o in
                var s = b?[o] ?? 0
                for i in 0..<inF { s += row[i] * W[o * inF + i] }
                return s
            }
        }
    }

    func norm(_ x: [[Double]], _ name: String) -> [[Double]] {
        let g = w(name + ".weight"), b = maybe(name + ".bias")
        let eps = config.normEps
        return x.map { row in
            let C = Double(row.count)
            if config.norm == .layernorm {
                let mean = row.reduce(0, +) / C
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / C
                return row.indices.map { (row[$0] - mean) / (variance + eps).squareRoot() * g[$0] + (b?[$0] ?? 0) }
            } else {
                let ms = row.map { $0 * $0 }.reduce(0, +) / C
                return row.indices.map { row[$0] / (ms + eps).squareRoot() * g[$0] }
            }
        }
    }

    /// Rotates one head vector (rotate_half convention) at position t.
    func rotate(_ x: [Double], position t: Int) -> [Double] {
        let d = x.count, half = d / 2
        var out = x
        for i in 0..<half {
            let angle = Double(t) / Foundation.pow(config.ropeTheta, Double(2 * i) / Double(d))
            out[i] = x[i] * Foundation.cos(angle) - x[i + half] * Foundation.sin(angle)
            out[i + half] = x[i + half] * Foundation.cos(angle) + x[i] * Foundation.sin(angle)
        }
        return out
    }

    /// Causal GQA attention of one sequence: q [T][H*hd], k, v [T][KV*hd] -> [T][H*hd].
    static func attention(q: [[Double]], k: [[Double]], v: [[Double]], heads: Int, kvHeads: Int, headDim hd: Int)
        -> [[Double]]
    {
        let T = q.count
        var out = [[Double]](repeating: [Double](repeating: 0, count: heads * hd), count: T)
        for h in 0..<heads {
            let g = h * kvHeads / heads
            for t in 0..<T {
                var scores: [Double] = []
                for j in 0...t {
                    var dot = 0.0
                    for i in 0..<hd { dot += q[t][h * hd + i] * k[j][g * hd + i] }
                    scores.append(dot / Double(hd).squareRoot())
                }
                let m = scores.max()!
                let e = scores.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for j in 0...t {
                    for i in 0..<hd { out[t][h * hd + i] += e[j] / z * v[j][g * hd + i] }
                }
            }
        }
        return out
    }

    static func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    static func silu(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }

    /// Mean cross-entropy over targets != -100.
    static func crossEntropy(logits: [[Double]], targets: [Int]) -> Double {
        var total = 0.0, count = 0
        for (row, target) in zip(logits, targets) where target != -100 {
            let m = row.max()!
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            total += lse - row[target]
            count += 1
        }
        return total / Double(count)
    }

    /// One sequence: tokens [T] -> logits [T][V].
    func sequenceLogits(_ tokens: [Int]) -> [[Double]] {
        let C = config.hiddenSize, hd = config.headDim
        let wte = w("model.embed_tokens.weight")
        let wpe = maybe("model.embed_positions.weight")
        var h: [[Double]] = tokens.enumerated().map { t, token in
            (0..<C).map { wte[token * C + $0] + (wpe?[t * C + $0] ?? 0) }
        }
        for l in 0..<config.numLayers {
            let pre = "model.layers.\(l)."
            let x = norm(h, pre + "input_layernorm")
            var q = linear(x, pre + "self_attn.q_proj")
            var k = linear(x, pre + "self_attn.k_proj")
            let v = linear(x, pre + "self_attn.v_proj")
            if config.position == .rope {
                for t in q.indices {
                    for hh in 0..<config.numHeads {
                        let r = rotate(Array(q[t][(hh * hd)..<((hh + 1) * hd)]), position: t)
                        q[t].replaceSubrange((hh * hd)..<((hh + 1) * hd), with: r)
                    }
                    for hh in 0..<config.numKVHeads {
                        let r = rotate(Array(k[t][(hh * hd)..<((hh + 1) * hd)]), position: t)
                        k[t].replaceSubrange((hh * hd)..<((hh + 1) * hd), with: r)
                    }
                }
            }
            let a = Self.attention(q: q, k: k, v: v, heads: config.numHeads, kvHeads: config.numKVHeads, headDim: hd)
            let o = linear(a, pre + "self_attn.o_proj")
            for t in h.indices { for c in 0..<C { h[t][c] += o[t][c] } }
            let x2 = norm(h, pre + "post_attention_layernorm")
            let up = linear(x2, pre + "mlp.up_proj")
            var act: [[Double]]
            if config.activation == .swiglu {
                let gate = linear(x2, pre + "mlp.gate_proj")
                act = zip(gate, up).map { g, u in zip(g, u).map { Self.silu($0) * $1 } }
            } else {
                act = up.map { $0.map(Self.gelu) }
            }
            let down = linear(act, pre + "mlp.down_proj")
            for t in h.indices { for c in 0..<C { h[t][c] += down[t][c] } }
        }
        let f = norm(h, "model.norm")
        let head = config.tieEmbeddings ? "model.embed_tokens" : "lm_head"
        let W = w(head + ".weight")
        return f.map { row in
            (0..<config.vocabSize).map { vv in (0..<C).reduce(0.0) { $0 + row[$1] * W[vv * C + $1] } }
        }
    }
}
