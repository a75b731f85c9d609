import COpenBLAS

// Explicit forward and backward kernels in the style of llm.c: each takes raw pointers and
// sizes, documents its tensor shapes and writes its math out. Shapes use
// N = B*T rows, C = hidden size. All tensors are row-major, last axis fastest.

@usableFromInline typealias V8 = SIMD8<Float>

extension UnsafePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load8(_ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) func store8(_ v: SIMD8<Float>, _ i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

/// The forward and backward kernels, one file per kernel (Embedding, Linear, Normalization,
/// MLPActivation, Rope, Attention, CrossEntropy). Public so the trainer's backward pass and the tests can call them one by one.
public enum Kernels {
    /// `out[i] += inp[i]` (residual add for the pieces sgemm cannot accumulate).
    public static func add(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let vectorEnd = count & ~7
        var i = 0
        while i < vectorEnd { out.store8(out.load8(i) + inp.load8(i), i); i += 8 }
        while i < count { out[i] += inp[i]; i += 1 }
    }
}
