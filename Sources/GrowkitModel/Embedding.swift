extension Kernels {
    /// Token (+ learned position) embedding.
    ///
    /// `out[b, t, :] = wte[tokens[b, t], :] (+ wpe[t, :])`
    /// - out: [B, T, C]; tokens: [B, T] (already validated in 0..<V); wte: [V, C]; wpe: [maxPosition, C] or nil.
    public static func embed(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, wte: UnsafePointer<Float>,
        wpe: UnsafePointer<Float>?, batchSize B: Int, seqLen T: Int, channels C: Int
    ) {
        for b in 0..<B {
            for t in 0..<T {
                let o = out + (b * T + t) * C
                let e = wte + Int(tokens[b * T + t]) * C
                if let wpe {
                    let p = wpe + t * C
                    for i in 0..<C { o[i] = e[i] + p[i] }
                } else {
                    o.update(from: e, count: C)
                }
            }
        }
    }


    /// Backward of ``embed(out:tokens:wte:wpe:batchSize:seqLen:channels:)``: every position adds its
    /// output gradient to the rows it read,
    ///
    /// `dwte[tokens[b, t], :] += dout[b, t, :]`, `dwpe[t, :] += dout[b, t, :]`.
    /// Serial: two positions with the same token write the same row (N*C additions, a few
    /// microseconds next to the matmuls).
    /// - dwte: [V, C]; dwpe: [maxPosition, C] or nil; dout: [B, T, C]; tokens: [B, T].
    public static func embedBackward(
        dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
        tokens: UnsafePointer<Int32>, batchSize B: Int, seqLen T: Int, channels C: Int
    ) {
        for n in 0..<(B * T) {
            let g = dout + n * C
            add(out: dwte + Int(tokens[n]) * C, inp: g, count: C)
            if let dwpe { add(out: dwpe + (n % T) * C, inp: g, count: C) }
        }
    }
}
