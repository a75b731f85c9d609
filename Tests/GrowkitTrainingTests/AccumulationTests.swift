import GrowkitModel
import GrowkitState
import GrowkitTraining
import Testing

/// `--accumulate A` with B rows per micro-batch gives the update of one batch of A x B rows.
@Suite("Gradient accumulation")
struct AccumulationTests {
    @Test(arguments: trainerConfigs.indices)
    func accumulatedMicroBatchesEqualOneBigBatch(configIndex: Int) throws {
        let config = trainerConfigs[configIndex]
        let weights = try ModelWeights(config: config, parameters: ModelInitialization.gpt2Style(config: config, seed: 3))
        let schedule = Schedule(kind: .constant, peakLR: 1e-3, totalSteps: 10)
        let T = 16, B = 2, A = 3
        var rng = SplitMix(seed: 9)
        let tokens = (0..<(A * B * T)).map { _ in Int32(rng.next() % 256) }
        var targets = (0..<(A * B * T)).map { _ in Int32(rng.next() % 256) }
        // Unequal ignored counts per micro-batch: the scale must be 1 / (valid targets of all of them).
        targets[0] = -100
        targets[1] = -100
        targets[B * T + 5] = -100
        func stepper(batch: Int, accumulation: Int) throws -> TrainingStepper {
            try TrainingStepper(weights: weights, optimizer: AdamWOptimizer(config: config, hyperparameters: AdamWHyperparameters()),
                                schedule: schedule, maxGradNorm: 1.0, step: 0, batchSize: batch, seqLen: T,
                                accumulation: accumulation)
        }
        let big = try stepper(batch: A * B, accumulation: 1)
        big.inputs[0] = tokens
        big.targets[0] = targets
        let small = try stepper(batch: B, accumulation: A)
        for a in 0..<A {
            small.inputs[a] = Array(tokens[(a * B * T)..<((a + 1) * B * T)])
            small.targets[a] = Array(targets[(a * B * T)..<((a + 1) * B * T)])
        }
        var bigOutcome = try big.step(), smallOutcome = try small.step()
        // The same sums in another grouping: float32 rounding, ~1e-6 relative.
        #expect(abs(bigOutcome.loss - smallOutcome.loss) <= 1e-6 * bigOutcome.loss)
        #expect(abs(bigOutcome.gradientNorm - smallOutcome.gradientNorm) <= 1e-5 * bigOutcome.gradientNorm)
        let gBig = Array(big.parameterGradients), gSmall = Array(small.parameterGradients)
        let scale = gBig.reduce(0) { max($0, abs($1)) }
        let worst = zip(gBig, gSmall).reduce(0) { max($0, abs($1.0 - $1.1)) }
        // Gradients summed over 96 positions in two orders: float32 error ~1e-6 of the scale.
        #expect(worst <= 1e-5 * scale, "max |dg| \(worst), scale \(scale)")
        // A second step, on the same data, through the updated weights.
        bigOutcome = try big.step()
        smallOutcome = try small.step()
        #expect(abs(bigOutcome.loss - smallOutcome.loss) <= 1e-5 * bigOutcome.loss)
        let dW = zip(big.weights.values, small.weights.values).reduce(0) { max($0, abs($1.0 - $1.1)) }
        // Two updates of at most lr = 1e-3 each: the weights agree to far below one update.
        #expect(dW <= 1e-6, "max |dW| \(dW)")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
