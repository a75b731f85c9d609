/// Vectorized float32 `exp` and `tanh` on `SIMD8<Float>`, accurate to a few
/// float32 ulps (the test bounds the relative error against Foundation over a
/// dense range). `exp` serves softmax, cross-entropy, SiLU and GELU (through
/// `(1 + tanh u)/2 = 1/(1 + e^(-2u))`), where calling libm per element would
/// cost more than the matmuls around them; `tanh` is there for callers that
/// need tanh itself (e.g. a GELU backward pass).
public enum FastMath {
    public typealias Vector = SIMD8<Float>

    /// Lane-wise maximum by compare-and-select (the generic `pointwiseMax` is not inlined).
    @inlinable @inline(__always)
    public static func max(_ a: Vector, _ b: Vector) -> Vector {
        var r = a
        r.replace(with: b, where: b .> a)
        return r
    }

    /// Inputs below this give 0 (the true value is below the smallest normal float).
    public static let expLowerBound: Float = -87.3
    /// Inputs above this saturate at `exp(88.3)` (keeps `2^n` a normal float).
    public static let expUpperBound: Float = 88.3

    /// `e^x` by range reduction: `x = n ln2 + r`, `|r| <= ln2/2`, with `n` the
    /// nearest integer to `x / ln2`; `e^x = 2^n e^r`, `e^r` by its Taylor series
    /// to degree 7 (truncation error `|r|^8/8! < 5e-9` relative), `2^n` built
    /// directly in the exponent bits. `ln2` is split in a high part exact in
    /// float32 and a low correction (Cody and Waite) so `r` keeps full precision.
    // `@_transparent`: `@inline(__always)` alone left this an out-of-line call inside tanh.
    @_transparent
    public static func exp(_ input: Vector) -> Vector {
        // Clamp with compare-and-select: the generic `clamped` is an out-of-line call per vector.
        var x = input
        x.replace(with: expLowerBound, where: x .< expLowerBound)
        x.replace(with: expUpperBound, where: x .> expUpperBound)
        // Round x/ln2 to nearest by adding 1.5 * 2^23: the sum's low mantissa bits hold the integer.
        let magic: Float = 12_582_912
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p = Vector(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // Integer n in [-126, 128) sits in the low bits of `shifted`'s pattern (two's complement wrap).
        let shiftedBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self)
        let nBits = shiftedBits &- Int32(bitPattern: magic.bitPattern)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Vector.self)
        var result = p * scale
        result.replace(with: 0, where: input .< expLowerBound)
        return result
    }

    /// `tanh x`. For `|x| < 0.625`: `x P(x^2)` with a degree-5 polynomial fitted
    /// for relative error (fit error 4.4e-9), avoiding the cancellation of the
    /// exponential form near 0. Otherwise: `sign(x) (1 - e) / (1 + e)` with
    /// `e = exp(-2|x|)`, where `1 - e >= 0.71` so nothing cancels.
    @_transparent
    public static func tanh(_ x: Vector) -> Vector {
        // |x| by clearing the sign bit.
        let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: Vector.self)
        let s = x * x
        var p = Vector(repeating: -0.005_697_370_865)
        p = p * s + 0.020_630_160_047
        p = p * s - 0.053_735_814_013
        p = p * s + 0.133_313_648_263
        p = p * s - 0.333_332_753_036
        p = p * s + 0.999_999_998_229
        let small = x * p
        let e = exp(-2 * a)
        var large = (1 - e) / (1 + e)
        large.replace(with: -large, where: x .< 0)
        var result = large
        result.replace(with: small, where: a .< 0.625)
        return result
    }

    /// Scalar convenience (tails of vector loops).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

    @inlinable @inline(__always)
    public static func tanh(_ x: Float) -> Float { tanh(Vector(repeating: x))[0] }
}
