import ArgumentParser
import Foundation
import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitState
import GrowkitStorage

/// `growkit grow IN OUT --depth OP --width OP`: the whole training state grown in
/// one streaming pass. Thin: parsing and wiring; the operators are GrowkitGrowth's.
struct GrowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grow",
        abstract: "Grow a training state deeper and/or wider: weights, AdamW moments, schedule, provenance.",
        discussion: """
            Depth operators, --depth OP[:ARGS] [default optimizer / schedule]:
              stack:G, stack:a-b,c-d
                G_stack (Du et al. 2024): block i' copies block i' mod L,
                or the listed slices [reset / restart]
              interleave:G
                [L0 x G, L1 x G, ...] [reset / restart]
              identity:G, identity:layers=N, source=previous|next|random,
              placement=spread|append
                LLaMA Pro block expansion: new blocks with zero o_proj and
                down_proj; exact [carry / rewarm]
              random:G, placement=spread|append
                G_random: new blocks random [reset / restart]

            Width operators, --width OP[:ARGS] (head_dim stays; heads grow):
              duplicate:N, snr=DB
                HyperCloning: N stacked copies of every hidden vector;
                exact [carry / continue]
              staged
                staged training (Shen et al. 2022): x2 block-diagonal;
                exact [carry / rewarm]
              zero:N, zero:hidden=H,intermediate=I,heads=A,kv_heads=K
                G_zero: new units read at random and write zeros;
                exact for RMSNorm [carry / continue]
              split:... (same targets)
                Net2Net: new units copy random ones; exact for MLP units
                and heads [carry / continue]
              random:... (same targets)
                G_random / MSG: old weights top-left, the rest random
                [carry / rewind]

            With both, the optimizer resets if either operator resets and
            the schedule is the depth operator's. Moments follow DESIGN
            section 5: exp_avg' = s exp_avg, exp_avg_sq' = s^2 exp_avg_sq,
            step kept, new entries fresh. docs/GROWTH.md gives every
            operator's rule and s.
            """)

    enum ScheduleChoice: String, ExpressibleByArgument, CaseIterable {
        case `continue`, rewarm, restart, rewind
    }

    @Argument(help: "Input: a growkit checkpoint (format v1), or a Hugging Face folder or .safetensors file (weights only). Never modified.")
    var input: String

    @Argument(help: "Output (must not exist, and not be the input): a growkit checkpoint; a Hugging Face folder when it ends in /; a .safetensors file with config.json beside it when it ends in .safetensors.")
    var output: String

    @Option(help: "Hugging Face output: start a new shard above this many bytes (like mergekit's --out-shard-size; default 5000000000).")
    var shardSize: Int = 5_000_000_000

    @Option(help: "Hugging Face output dtype: float32, float16 or bfloat16.")
    var dtype: String = "float32"

    @Option(help: "Depth operator OP[:ARGS] (see above).")
    var depth: String?

    @Option(help: "Width operator OP[:ARGS] (see above).")
    var width: String?

    @Option(help: "Schedule at growth: continue, rewarm, restart or rewind (default: the operator's).")
    var schedule: ScheduleChoice?

    @Option(help: "With --schedule rewarm: the step to jump to (default: step / c, c = 1.412 depth, 1.776 width, 2.455 both).")
    var rewarmStep: Int?

    @Option(help: "With --schedule rewarm: re-warmup length in steps.")
    var rewarmSteps = 150

    @Option(help: "Adam moments: carry (by each operator's gradient scale) or reset (default: the operator's).")
    var optimizer: OptimizerTransfer?

    @Option(help: "Seed of every random choice (split sources, random fills, noise): same seed, same bytes.")
    var seed: UInt64 = 0

    @Option(help: "Compression of the output: zstd:LEVEL (1-22); default none.")
    var compress: Compression?

    @Flag(help: "Print the grown config and each tensor's rule; write nothing.")
    var dryRun = false

    @Flag(help: "Before writing, run the same seeded random tokens through both models (growkit verify's check); a function-preserving operator that misses the float32 tolerances writes nothing and fails. The result goes into the provenance record. Holds both models' weights in memory.")
    var verify = false

    @Option(help: ArgumentHelp("ISO 8601 UTC time for the provenance record (default: now).", visibility: .hidden))
    var time: String?

    struct Compression: ExpressibleByArgument {
        var level: Int
        init?(argument: String) {
            guard argument.hasPrefix("zstd:"), let level = Int(argument.dropFirst(5)), (1...22).contains(level) else { return nil }
            self.level = level
        }
    }

    func validate() throws {
        guard depth != nil || width != nil else {
            throw ValidationError("give --depth OP, --width OP or both (growkit grow --help lists the operators)")
        }
        if rewarmStep != nil && schedule != .rewarm { throw ValidationError("--rewarm-step needs --schedule rewarm") }
        if let rewarmStep, rewarmStep < 0 { throw ValidationError("--rewarm-step is \(rewarmStep); it must be >= 0") }
        guard rewarmSteps >= 1 && rewarmSteps <= 1 << 40 else {
            throw ValidationError("--rewarm-steps is \(rewarmSteps); it must be between 1 and 2^40")
        }
        if let problem = Self.operatorProblem(depth: depth, width: width) { throw ValidationError(problem) }
        guard shardSize > 0 else { throw ValidationError("--shard-size is \(shardSize); it must be positive") }
        guard SafeTensorsDType.allCases.contains(where: { $0.torchName == dtype }) else {
            throw ValidationError("--dtype \(dtype) is not one of float32, float16, bfloat16")
        }
        // The provenance record stores the seed as a JSON number, exact up to 2^53.
        guard seed < 1 << 53 else { throw ValidationError("--seed is \(seed); it must be below 2^53 so the provenance record holds it exactly") }
    }

    /// The first operator that does not parse, as a sentence.
    static func operatorProblem(depth: String?, width: String?) -> String? {
        do throws(GrowthError) {
            if let depth { _ = try OperatorSyntax.depth(depth) }
            if let width { _ = try OperatorSyntax.width(width) }
            return nil
        } catch {
            return error.description
        }
    }

    /// The arguments as the provenance record keeps them (the operators as given, the
    /// optimizer and schedule after defaults).
    func recordArguments(_ transfer: OptimizerTransfer, _ scheduleTransform: ScheduleTransform, weightsOnly: Bool)
        -> [String: JSONValue]
    {
        var arguments: [String: JSONValue] = ["seed": .number(Double(seed)), "optimizer": .string(transfer.rawValue),
                                              "schedule": .string(scheduleTransform.name)]
        if weightsOnly {
            arguments["optimizer"] = .string(GrowReport.weightsOnlyOptimizer)
            arguments["schedule"] = .string(GrowReport.weightsOnlyOptimizer)
        }
        if let depth { arguments["depth"] = .string(depth) }
        if let width { arguments["width"] = .string(width) }
        if case .rewarm(let step, let steps) = scheduleTransform, !weightsOnly {
            arguments["rewarm_steps"] = .number(Double(steps))
            if let step { arguments["rewarm_step"] = .number(Double(step)) }
        }
        return arguments
    }

    /// Whether OUT is written as a Hugging Face folder: it ends in `/` or `.safetensors`.
    static func isHuggingFaceOutput(_ path: String) -> Bool {
        path.hasSuffix("/") || path.hasSuffix(".safetensors")
    }

    func run() throws {
        let source = try StateSource(path: input)
        let weightsOnly = source.isWeightsOnly
        if weightsOnly && optimizer == .carry {
            throw ValidationError("\(input) is weights only: it has no AdamW state to carry; drop --optimizer carry or pass --optimizer reset (the output is then weights only)")
        }
        let plan = try GrowthPlan(source: source.config, depth: try depth.map(OperatorSyntax.depth),
                                  width: try width.map(OperatorSyntax.width), seed: seed)
        let transfer = optimizer ?? plan.defaultOptimizer
        let scheduleTransform: ScheduleTransform = switch schedule {
        case nil: plan.defaultSchedule
        case .continue?: .continue
        case .rewarm?: .rewarm(step: rewarmStep, steps: rewarmSteps)
        case .restart?: .restart
        case .rewind?: .rewind
        }
        if dryRun {
            print(GrowReport.dryRun(plan, optimizer: transfer, schedule: scheduleTransform, compressed: compress != nil,
                                    weightsOnly: weightsOnly))
            return
        }
        let operators = [depth.map { "depth=\($0)" }, width.map { "width=\($0)" }].compactMap { $0 }
        let sourceMetadata = source.metadata
        // The input's SHA-256 is computed on another thread while the tensors stream;
        // the record is completed before commit.
        let checksum = backgroundChecksum(source)
        // Every exit waits for the hashing thread: a process exiting under a thread still in
        // OpenSSL or HDF5 can crash in the libraries' shutdown (seen on a refused output).
        defer { _ = try? checksum.value() }
        var record = ProvenanceRecord(
            operatorName: "grow", arguments: recordArguments(transfer, scheduleTransform, weightsOnly: weightsOnly),
            source: URL(fileURLWithPath: input).lastPathComponent,
            toolVersion: growkitVersion, growth: plan.record(operators: operators, historyLength: sourceMetadata.history.count),
            time: time ?? ProvenanceRecord.now())
        let verification = verify ? try GrowVerification.check(plan, source: source, input: input, output: output) : nil
        if let verification, !verification.passed {
            throw GrowVerification.Failure(output: output, result: verification)
        }
        record.verification = verification?.provenanceValue
        let metadata = weightsOnly
            ? CheckpointMetadata.weightsOnly(config: plan.grown, provenance: sourceMetadata.provenance + [record])
            : plan.grownMetadata(sourceMetadata, schedule: scheduleTransform, record: record)
        let components: [TensorComponent] = weightsOnly || Self.isHuggingFaceOutput(output) ? [.value] : TensorComponent.allCases
        let totalBytes = plan.recipes.reduce(0) { $0 + 4 * components.count * $1.spec.elementCount }
        let progress = TerminalProgress(plainLines: totalBytes >= 64 << 20)
        if Self.isHuggingFaceOutput(output) {
            let options = HuggingFaceFolderWriter.Options(
                dtype: SafeTensorsDType.allCases.first { $0.torchName == dtype } ?? .f32, maxShardBytes: shardSize,
                tokenizerFolder: GrowOutput.tokenizerFolder(of: source))
            func provenance() throws(HuggingFaceError) -> [ProvenanceRecord] {
                do throws(StateError) { record.sourceSHA256 = try checksum.value() } catch { throw .state(error) }
                var provenance = metadata.provenance
                provenance[provenance.count - 1] = record
                return provenance
            }
            func report(_ done: Int, _ count: Int) {
                progress.update("grow: tensor \(done)/\(count)", fraction: Double(done) / Double(max(count, 1)))
            }
            if output.hasSuffix(".safetensors") {
                try GrowOutput.huggingFaceFile(plan, source: source, to: output, options: options, provenance: provenance, progress: report)
            } else {
                try GrowOutput.huggingFace(plan, source: source, to: output, options: options, provenance: provenance, progress: report)
            }
        } else {
            let writer = try CheckpointWriter(path: output, metadata: metadata,
                                              options: .init(zstdLevel: compress?.level, weightsOnly: weightsOnly),
                                              inputPath: input, toolVersion: growkitVersion)
            var done = 0, bytes = 0
            func read(_ name: String, _ component: TensorComponent) throws(HuggingFaceError) -> Tensor {
                if component == .value { return try source.parameter(named: name) }
                guard case .checkpoint(let reader) = source else { throw .state(.weightsOnly(file: input, asked: "moments")) }
                do { return try reader.tensor(at: reader.info(name, component.role)) } catch { throw .state(error) }
            }
            func sourceState(_ name: String) throws(HuggingFaceError) -> (step: Int, applyWeightDecay: Bool) {
                guard case .checkpoint(let reader) = source, !weightsOnly else { return (0, false) }
                do { return try reader.momentAttributes(named: name) } catch { throw .state(error) }
            }
            func write(_ recipe: TensorRecipe, _ component: TensorComponent, _ tensor: Tensor, _ step: Int, _ decay: Bool)
                throws(HuggingFaceError)
            {
                do {
                    try writer.write(component.role, of: recipe.spec.name, tensor: tensor, step: step, applyWeightDecay: decay)
                } catch {
                    throw .state(error)
                }
                bytes += 4 * recipe.spec.elementCount
                progress.update("grow", TensorProgress(index: done, count: components.count * plan.recipes.count,
                                                       path: recipe.spec.name, bytesDone: bytes, bytesTotal: totalBytes))
                done += 1
            }
            try plan.run(optimizer: transfer, components: components, read: read, sourceOptimizerState: sourceState, write: write)
            record.sourceSHA256 = try checksum.value()
            var provenance = metadata.provenance
            provenance[provenance.count - 1] = record
            try writer.setProvenance(provenance)
            try writer.commit()
        }
        progress.finish()
        if Self.isHuggingFaceOutput(output) && !weightsOnly {
            print("note: a Hugging Face output holds the weights only; the grown moments, schedule and trainer position are not written")
        }
        print(GrowReport.summary(plan, output: output, optimizer: transfer, schedule: scheduleTransform,
                                 metadata: metadata, verification: verification, seconds: progress.elapsedSeconds,
                                 bytes: totalBytes))
    }
}

extension TensorComponent {
    var role: TensorRole {
        switch self {
        case .value: .parameter
        case .expAvg: .expAvg
        case .expAvgSq: .expAvgSq
        }
    }
}

/// A state's SHA-256 computed on a thread of its own: a checkpoint's file digest, or a
/// Hugging Face model's (``HuggingFaceConversion/checksum(_:)``). The thread holds a path or
/// the Hugging Face model (plain file descriptors), never a checkpoint reader: an HDF5 handle
/// released on that thread could race the library's shutdown when the command fails and exits.
func backgroundChecksum(_ source: StateSource) -> BackgroundResult<String, StateError> {
    switch source {
    case .checkpoint(let reader):
        let path = reader.path
        return BackgroundResult {
            do throws(StateError) { return .success(try SHA256.hex(ofFile: path)) } catch { return .failure(error) }
        }
    case .huggingFace(let model):
        nonisolated(unsafe) let model = model
        return BackgroundResult {
            do throws(HuggingFaceError) {
                return .success(try HuggingFaceConversion.checksum(model))
            } catch {
                if case .state(let state) = error { return .failure(state) }
                return .failure(.invalidValue(file: model.path, object: "the model files", problem: "cannot be checksummed (\(error))"))
            }
        }
    }
}

extension OptimizerTransfer: ExpressibleByArgument {}
