/// bfloat16 <-> float32 bit conversions.
///
/// bfloat16 is the upper 16 bits of an IEEE float32 (1 sign, 8 exponent, 7
/// mantissa bits). Format v1 stores bf16 tensors as uint16 with attribute
/// `dtype = "bfloat16"`.
public enum BFloat16 {
    /// float32 -> bfloat16 bits, rounding to nearest, ties to even:
    /// `bits + 0x7FFF + ((bits >> 16) & 1)`, then keep the upper 16 bits.
    /// NaN stays NaN (quiet bit forced, sign kept), infinities stay infinite,
    /// values that round past the largest finite bfloat16 become infinity (IEEE).
    @inlinable
    public static func bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// bfloat16 bits -> float32 (exact: every bfloat16 is a float32).
    @inlinable
    public static func float(fromBits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Converts a whole array to bfloat16 bits.
    public static func bits(from values: [Float]) -> [UInt16] {
        values.map { bits(from: $0) }
    }

    /// Converts a whole array of bfloat16 bits to float32.
    public static func floats(fromBits bits: [UInt16]) -> [Float] {
        bits.map { float(fromBits: $0) }
    }
}
