import CAllocationCounter
import GrowkitTraining
import GrowkitModel
import GrowkitCheckpoint
import GrowkitState
import Testing

/// The forward pass promises no heap allocation once its activations exist (issue 3): every
/// buffer lives in `Activations`, and the kernels hand their parallel parts to the worker pool
/// without boxing a closure (`WorkerPool`). Counted with `CAllocationCounter`, which interposes
/// malloc and its relatives for this test process and counts per thread; the pool's workers run
/// the same kernel bodies as the calling thread, which is the one counted.
/// (`tools/check_forward_allocations.sh` counts the whole process of a release build under valgrind.)
@Suite("Forward pass heap allocations")
struct ForwardAllocationTests {
    @Test func counterSeesAnAllocation() throws {
        try #require(growkit_allocation_counting_available() != 0)
        let before = growkit_thread_allocations()
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 1000)
        let after = growkit_thread_allocations()
        buffer.deallocate()
        #expect(after > before)
    }

    /// The tiny configs at (8, 70): 560 positions, enough for every kernel's parallel path on two
    /// or more workers; and the benchmark configs (hidden 384, 6 layers, 6 heads, vocab 256)
    /// at batch 2 x 256, whose attention blocks are the sizes OpenBLAS's AVX-512 small-matrix
    /// kernels take (its (no-transpose, no-transpose) kernel allocates on every call; see
    /// `Kernels.causalAttention`).
    static let cases: [(name: String, config: ModelConfig, batchSize: Int, seqLen: Int)] =
        tinyConfigs.map { ($0.0, $0.1, 8, 70) } + [
            ("gpt2-reference", .gpt2(vocabSize: 256, hiddenSize: 384, numLayers: 6, numHeads: 6, maxPosition: 256), 2, 256),
            ("llama-reference", .llama(vocabSize: 256, hiddenSize: 384, numLayers: 6, numHeads: 6, numKVHeads: 2,
                                       intermediateSize: 1024, maxPosition: 256), 2, 256),
        ]

    @Test(arguments: cases.indices, [false, true])
    func forwardAllocatesNothing(caseIndex: Int, keepForBackward: Bool) throws {
        try #require(growkit_allocation_counting_available() != 0)
        let (name, config, B, T) = Self.cases[caseIndex]
        let weights = try ModelWeights(config: config, parameters: randomParameters(config, seed: 3))
        let acts = try Activations(config: config, batchSize: B, seqLen: T, keepForBackward: keepForBackward)
        var rng = TestRandom(seed: 4)
        let tokens = (0..<(B * T)).map { _ in Int32(rng.int(below: config.vocabSize)) }
        let targets = (0..<(B * T)).map { _ in Int32(rng.int(below: config.vocabSize)) }
        // The first pass may fill the runtime's one-time caches (generic metadata, the pool's threads).
        try weights.forward(tokens: tokens, targets: targets, activations: acts)
        // The fewest of three passes: an allocation in the code happens on every pass, while state
        // shared with the tests running at the same time (likely OpenBLAS's process-wide thread
        // count and buffers) once made a single pass allocate 18 times in eight runs of the suite.
        var fewest = UInt64.max
        for _ in 0..<3 {
            let before = growkit_thread_allocations()
            let loss = try weights.forward(tokens: tokens, targets: targets, activations: acts)
            fewest = min(fewest, growkit_thread_allocations() - before)
            #expect(loss != nil)
        }
        #expect(fewest == 0, "\(name): \(fewest) heap allocations in every one of three forward passes")
    }
}

/// The training step (forward, backward, clipping, AdamW) allocates nothing after the first step:
/// gradients and activations live in arenas made once, the optimizer's moments in arrays made once.
@Suite("Training step heap allocations")
struct TrainingStepAllocationTests {
    @Test(arguments: ForwardAllocationTests.cases.indices)
    func trainingStepAllocatesNothingAfterTheFirst(caseIndex: Int) throws {
        try #require(growkit_allocation_counting_available() != 0)
        let (name, config, B, T) = ForwardAllocationTests.cases[caseIndex]
        let weights = try ModelWeights(config: config, parameters: randomParameters(config, seed: 3))
        let stepper = try TrainingStepper(
            weights: weights, optimizer: AdamWOptimizer(config: config, hyperparameters: AdamWHyperparameters()),
            schedule: Schedule(kind: .cosine, peakLR: 1e-4, warmupSteps: 2, totalSteps: 100), maxGradNorm: 1,
            step: 0, batchSize: B, seqLen: T, accumulation: 2)
        var rng = TestRandom(seed: 4)
        for a in 0..<2 {
            stepper.inputs[a] = (0..<(B * T)).map { _ in Int32(rng.int(below: config.vocabSize)) }
            stepper.targets[a] = (0..<(B * T)).map { _ in Int32(rng.int(below: config.vocabSize)) }
        }
        try stepper.step()
        // The fewest of three steps, for the reason given in ForwardAllocationTests.
        var fewest = UInt64.max
        for _ in 0..<3 {
            let before = growkit_thread_allocations()
            try stepper.step()
            fewest = min(fewest, growkit_thread_allocations() - before)
        }
        #expect(fewest == 0, "\(name): \(fewest) heap allocations in every one of three training steps")
    }
}
