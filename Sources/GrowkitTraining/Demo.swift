import Foundation
import GrowkitData
import GrowkitModel
import GrowkitPlan
import GrowkitRandom
import GrowkitCheckpoint
import GrowkitState
import GrowkitStorage

/// `growkit demo`: the embedded default, end to end on what growkit does today.
///
/// 1. Our forward pass against Hugging Face transformers on every reference case.
/// 2. A fresh Llama-style training state written with zstd, reopened, every chunk's
///    fletcher32 verified.
/// 3. Its loss on the held-out tenth of the bundled corpus (The Jargon File), which
///    for a freshly initialised model must sit near the uniform `ln V`.
/// 4. When to grow: the G_stack timing rule on the paper's Llama2-7B example, and
///    staged training's slope rule for this model.
/// Growth and training join the demo when the trainer and the operators land.
public struct Demo {
    public struct Settings: Sendable {
        public var outputFolder: String
        public var fixturesFolder: String
        /// Recorded in the demo checkpoint (`growkit_version`, provenance).
        public var toolVersion: String
        public var seed: UInt64 = 0
        public var config = ModelConfig.llama(vocabSize: 256, hiddenSize: 128, numLayers: 4, numHeads: 4, numKVHeads: 2,
                                              intermediateSize: 344, maxPosition: 1024)
        public var evaluation = EvaluationSettings(batches: 8, batchSize: 8, seqLen: 128, seed: 0)

        public init(outputFolder: String, fixturesFolder: String, toolVersion: String) {
            self.outputFolder = outputFolder
            self.fixturesFolder = fixturesFolder
            self.toolVersion = toolVersion
        }

        public var corpusPath: String { "\(fixturesFolder)/jargon-file-4.4.7.txt.zst" }
        public var checkpointPath: String { "\(outputFolder)/demo-llama.h5" }
    }

    public enum Stage: Sendable {
        case reference(name: String)
        case writing(path: String)
        case verifying(path: String)
        case evaluating(EvaluationProgress)
    }

    public struct CheckpointFigures: Sendable {
        public var path: String
        public var parameters: Int
        /// float32 bytes of parameters and both moments.
        public var tensorBytes: Int
        public var fileBytes: Int
        public var writeSeconds: Double
        public var verifySeconds: Double
    }

    public struct Report: Sendable {
        public var references: [ReferenceComparison]
        public var checkpoint: CheckpointFigures
        public var evaluation: EvaluationResult
        /// `ln V`: the loss of a model that predicts the uniform distribution.
        public var uniformLoss: Double
        public var stacking: StackingPlan
        public var staged: StagedPlan

        public var referencesPass: Bool { references.allSatisfy(\.passes) }
    }

    public var settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public func run(progress: (Stage) -> Void = { _ in }) throws -> Report {
        let references = try ReferenceCase.standardNames.map { name throws -> ReferenceComparison in
            progress(.reference(name: name))
            return try ReferenceCase(folder: "\(settings.fixturesFolder)/hf", name: name).compare()
        }

        try Folder.make(settings.outputFolder)
        let state = freshState()
        progress(.writing(path: settings.checkpointPath))
        let clock = ContinuousClock()
        var start = clock.now
        try CheckpointWriter.write(state, to: settings.checkpointPath,
                                   options: .init(zstdLevel: 3, overwrite: true), toolVersion: settings.toolVersion)
        let writeSeconds = (clock.now - start).seconds
        progress(.verifying(path: settings.checkpointPath))
        start = clock.now
        let reader = try CheckpointReader(path: settings.checkpointPath)
        try reader.verifyAllChunks()
        let verifySeconds = (clock.now - start).seconds
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: settings.checkpointPath)[.size] as? Int) ?? 0
        let parameterCount = settings.config.parameterCount

        let corpus = try TokenSource(path: settings.corpusPath).split(validationFraction: 0.1).validation
        let weights = try ModelWeights(config: state.config, parameters: try reader.parameters())
        let evaluation = try Evaluator.evaluate(weights: weights, checkpoint: settings.checkpointPath, data: corpus,
                                                settings: settings.evaluation) { progress(.evaluating($0)) }

        let stacking = try StackingTimingRule.du2024.plan(targetParameters: 7e9, tokens: 2e12)
        let staged = try StagedPlanner().plan(
            smallParameters: Double(settings.config.nonEmbeddingParameterCount),
            tokensPerStep: Double(settings.evaluation.batchSize * settings.evaluation.seqLen), growth: .depth)
        return Report(
            references: references,
            checkpoint: CheckpointFigures(path: settings.checkpointPath, parameters: parameterCount,
                                          tensorBytes: 3 * 4 * parameterCount, fileBytes: fileBytes,
                                          writeSeconds: writeSeconds, verifySeconds: verifySeconds),
            evaluation: evaluation, uniformLoss: log(Double(settings.config.vocabSize)),
            stacking: stacking, staged: staged)
    }

    /// A new run at step 0: GPT-2-style weights, zero moments, a cosine schedule, empty history.
    func freshState() -> TrainingState {
        let config = settings.config
        let parameters = ModelInitialization.gpt2Style(config: config, seed: settings.seed)
        var optimizerState: [String: AdamParameterState] = [:]
        for spec in config.parameters() {
            optimizerState[spec.name] = AdamParameterState(freshFor: spec.shape, applyWeightDecay: spec.defaultWeightDecay)
        }
        let schedule = Schedule(kind: .cosine, peakLR: 1e-3, minLR: 1e-4, warmupSteps: 100, totalSteps: 5000)
        let evaluation = settings.evaluation
        let trainer = TrainerPosition(
            step: 0, tokensSeen: 0, batchSize: evaluation.batchSize, seqLen: evaluation.seqLen,
            seed: Int(truncatingIfNeeded: settings.seed & UInt64(Int64.max)), dataCursor: 0,
            rngState: Xoshiro256StarStar(seed: settings.seed).stateBytes, generator: Xoshiro256StarStar.generatorName)
        let record = ProvenanceRecord(operatorName: "init", arguments: ["seed": .number(Double(settings.seed)), "init": .string("gpt2")],
                                      toolVersion: settings.toolVersion, time: ProvenanceRecord.now())
        let metadata = CheckpointMetadata(
            config: config, optimizer: AdamWHyperparameters(lr: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1),
            schedule: schedule, trainer: trainer, history: TrainingHistory(), provenance: [record])
        return TrainingState(metadata: metadata, parameters: parameters, optimizerState: optimizerState)
    }
}
