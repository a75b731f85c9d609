/// xoshiro256** (Blackman and Vigna 2018), the bundled trainer's generator.
///
/// State: four 64-bit words, never all zero. Output:
/// `rotl(s1 * 5, 7) * 9`, then the state advances by the xor/shift/rotate
/// step of the reference implementation. Seeding expands one 64-bit seed
/// through splitmix64, as the authors recommend. The state round-trips
/// through 32 little-endian bytes (`/trainer/rng_state`, generator `xoshiro256**`).
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable {
    public static let generatorName = "xoshiro256**"
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitmix = seed
        func nextSplitMix() -> UInt64 {
            splitmix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitmix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// Restores a state; `nil` when the words are all zero (not a valid state).
    public init?(state: (UInt64, UInt64, UInt64, UInt64)) {
        guard state.0 | state.1 | state.2 | state.3 != 0 else { return nil }
        self.state = state
    }

    /// Restores a state from its 32-byte little-endian form; `nil` on a wrong length or an all-zero state.
    public init?(stateBytes bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[index * 8 + $1]) << (8 * UInt64($1)) }
        }
        self.init(state: (word(0), word(1), word(2), word(3)))
    }

    /// The state as 32 little-endian bytes.
    public var stateBytes: [UInt8] {
        [state.0, state.1, state.2, state.3].flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } }
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// Uniform in `[0, 1)` with 24 random bits (every float32 multiple of 2^-24).
    public mutating func nextUniformFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Standard normal by the Box-Muller transform, in float64 then rounded.
    public mutating func nextGaussian() -> Float {
        // u1 in (0, 1] so log(u1) is finite.
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Uniform integer in `0 ..< upperBound` (`upperBound >= 1`), by Lemire 2019,
    /// "Fast random integer generation in an interval": the high word of
    /// `x * upperBound` is uniform once the low words in the biased zone
    /// `low < 2^64 mod upperBound` are rejected. Written out rather than taken from
    /// the standard library, so a seed gives the same draws on every Swift version.
    public mutating func nextInt(below upperBound: Int) -> Int {
        let bound = UInt64(upperBound)
        let threshold = (0 &- bound) % bound  // 2^64 mod bound
        while true {
            let (high, low) = next().multipliedFullWidth(by: bound)
            if low >= threshold { return Int(high) }
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.stateBytes == rhs.stateBytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(stateBytes) }
}

@inline(__always) private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
