import Testing
import GrowkitRandom

@Suite struct Xoshiro256StarStarTests {
    /// The reference C implementation (prng.di.unimi.it/xoshiro256starstar.c)
    /// seeded with s = {1, 2, 3, 4} outputs these first values.
    @Test func matchesReferenceSequence() throws {
        var generator = try #require(Xoshiro256StarStar(state: (1, 2, 3, 4)))
        let expected: [UInt64] = [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240]
        #expect((0..<4).map { _ in generator.next() } == expected)
    }

    @Test func stateRoundTripsThroughBytes() throws {
        var generator = Xoshiro256StarStar(seed: 42)
        _ = generator.next()
        var restored = try #require(Xoshiro256StarStar(stateBytes: generator.stateBytes))
        #expect((0..<8).map { _ in generator.next() } == (0..<8).map { _ in restored.next() })
        #expect(Xoshiro256StarStar(stateBytes: [UInt8](repeating: 0, count: 32)) == nil)
        #expect(Xoshiro256StarStar(stateBytes: [1, 2, 3]) == nil)
    }

    /// Mean and variance of 200k Box-Muller samples: standard errors are
    /// 1/sqrt(n) = 0.0022 (mean) and sqrt(2/n) = 0.0032 (variance); 5 sigma bounds.
    @Test func gaussianMoments() {
        var generator = Xoshiro256StarStar(seed: 7)
        let n = 200_000
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<n {
            let x = Double(generator.nextGaussian())
            sum += x
            sumSquares += x * x
        }
        let mean = sum / Double(n)
        let variance = sumSquares / Double(n) - mean * mean
        #expect(abs(mean) < 0.011)
        #expect(abs(variance - 1) < 0.016)
    }

    /// Lemire's draw on the reference state: 11520 * 10 / 2^64 < 1, so the first
    /// draw below 10 is 0; every draw stays in range, and a bound of 3 hits all of 0, 1, 2.
    @Test func boundedIntegers() throws {
        var generator = try #require(Xoshiro256StarStar(state: (1, 2, 3, 4)))
        #expect(generator.nextInt(below: 10) == 0)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let x = generator.nextInt(below: 3)
            #expect((0..<3).contains(x))
            seen.insert(x)
        }
        #expect(seen == [0, 1, 2])
    }

    @Test func uniformFloatIsInUnitInterval() {
        var generator = Xoshiro256StarStar(seed: 1)
        for _ in 0..<10_000 {
            let x = generator.nextUniformFloat()
            #expect(x >= 0 && x < 1)
        }
    }
}
