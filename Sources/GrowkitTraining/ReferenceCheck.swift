import GrowkitModel
import GrowkitCheckpoint
import GrowkitState
import GrowkitStorage

/// One Hugging Face reference case (fixtures/hf/, written by
/// tools/make_hf_reference.py): a checkpoint in format v1 and, beside it,
/// `<case>.reference.h5` with the token batch and what transformers computed.
public struct ReferenceCase: Sendable {
    /// The case name, e.g. `llama_gqa`.
    public var name: String
    public var checkpointPath: String
    public var referencePath: String

    public init(folder: String, name: String) {
        self.name = name
        checkpointPath = "\(folder)/\(name).h5"
        referencePath = "\(folder)/\(name).reference.h5"
    }

    /// The four cases the fixture generator writes: GPT-2 with a tied head,
    /// Llama with grouped-query attention, with one kv head (RoPE theta 500),
    /// and with `head_dim` different from `hidden / heads`.
    public static let standardNames = ["gpt2_tied", "llama_gqa", "llama_mqa", "llama_head_dim"]
}

/// Our forward pass against transformers' on the same tokens (DESIGN.md section 6).
public struct ReferenceComparison: Sendable, Codable, Equatable {
    public var name: String
    public var family: String
    /// Mean cross-entropy over the non-ignored targets, ours (float32) and transformers' (float32, stored as float64).
    public var loss: Double
    public var referenceLoss: Double
    /// `max |z - z_ref|` over all `B T V` logits.
    public var maxLogitDifference: Double
    public var torchVersion: String
    public var transformersVersion: String

    /// Function preservation in float32 (DESIGN.md section 6): `max |dlogit| <= 1e-4`
    /// and `|dloss| <= 1e-5 max(1, |loss|)`.
    public static let logitTolerance = 1e-4
    public static let relativeLossTolerance = 1e-5

    public var lossDifference: Double { abs(loss - referenceLoss) }

    public var passes: Bool {
        maxLogitDifference <= Self.logitTolerance
            && lossDifference <= Self.relativeLossTolerance * max(1, abs(referenceLoss))
    }
}

/// Why a reference check could not run: the fixture is missing or unreadable, or the model refused it.
public struct ReferenceCheckError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension ReferenceCase {
    /// Loads the checkpoint, runs the forward pass on the reference tokens and
    /// targets, and compares logits and loss with transformers' values.
    public func compare() throws(ReferenceCheckError) -> ReferenceComparison {
        do {
            let (reader, weights, reference, batch) = try open()
            defer { try? reference.close() }
            let (shape, tokens, targets) = (batch.shape, batch.tokens, batch.targets)
            let expectedLogits = try reference.readDataset("logits", as: Float.self)
            let expectedLoss = try reference.readDataset("loss", as: Double.self)
            let output = try weights.forward(tokens: tokens, targets: targets, batchSize: shape[0], seqLen: shape[1])
            guard output.logits.count == expectedLogits.count, let loss = output.loss, let referenceLoss = expectedLoss.first else {
                throw ReferenceCheckError(description: "\(referencePath): logits or loss do not match the batch shape \(shape).")
            }
            var maxDifference: Float = 0
            for (ours, theirs) in zip(output.logits.data, expectedLogits) {
                maxDifference = max(maxDifference, abs(ours - theirs))
            }
            return ReferenceComparison(
                name: name, family: reader.config.family.rawValue, loss: Double(loss), referenceLoss: referenceLoss,
                maxLogitDifference: Double(maxDifference),
                torchVersion: (try? reference.stringAttribute("torch_version")) ?? "unknown",
                transformersVersion: (try? reference.stringAttribute("transformers_version")) ?? "unknown")
        } catch let error as ReferenceCheckError {
            throw error
        } catch {
            throw ReferenceCheckError(description: "\(error)")
        }
    }
}

/// One parameter's gradient, ours against transformers' (`/grad/<path>` of the reference file).
public struct GradientComparison: Sendable, Equatable {
    public var name: String
    /// `max |g - g_ref|` over the tensor.
    public var maxAbsDifference: Double
    /// `max |g_ref|`: the tensor's scale.
    public var scale: Double
}

extension ReferenceCase {
    /// Runs the forward and backward pass on the reference batch and compares every parameter's
    /// gradient of the mean loss with the one transformers computed (in canonical parameter order).
    public func compareGradients() throws(ReferenceCheckError) -> [GradientComparison] {
        do {
            let (reader, weights, reference, batch) = try open()
            defer { try? reference.close() }
            let (shape, tokens, targets) = (batch.shape, batch.tokens.map { Int32($0) }, batch.targets.map { Int32($0) })
            let acts = try Activations(config: reader.config, batchSize: shape[0], seqLen: shape[1])
            let grads = try Gradients(for: acts)
            try weights.forward(tokens: tokens, targets: targets, activations: acts)
            try weights.backward(activations: acts, gradients: grads)
            var out: [GradientComparison] = []
            for spec in reader.config.parameters() {
                let expected = try reference.readDataset("grad/\(spec.storagePath)", as: Float.self)
                guard let ours = grads.tensor(named: spec.name), ours.data.count == expected.count else {
                    throw ReferenceCheckError(description: "\(referencePath): grad/\(spec.storagePath) does not match \(spec.name)'s shape \(spec.shape).")
                }
                var difference: Float = 0, scale: Float = 0
                for (a, b) in zip(ours.data, expected) {
                    difference = max(difference, abs(a - b))
                    scale = max(scale, abs(b))
                }
                out.append(GradientComparison(name: spec.name, maxAbsDifference: Double(difference), scale: Double(scale)))
            }
            return out
        } catch let error as ReferenceCheckError {
            throw error
        } catch {
            throw ReferenceCheckError(description: "\(error)")
        }
    }
}

extension ReferenceCase {
    /// The checkpoint's weights, the open reference file and its token batch (`[batch, seq_len]`).
    func open() throws -> (CheckpointReader, ModelWeights, HDF5File, (shape: [Int], tokens: [Int64], targets: [Int64])) {
        let reader = try CheckpointReader(path: checkpointPath)
        let weights = try ModelWeights(config: reader.config, parameters: try reader.parameters())
        let reference = try HDF5File.openReadOnly(referencePath)
        let shape = try reference.openDataset("tokens").shapeAndType().shape
        guard shape.count == 2 else {
            try? reference.close()
            throw ReferenceCheckError(description: "\(referencePath): tokens has shape \(shape), expected [batch, seq_len].")
        }
        return (reader, weights, reference, (shape, try reference.readDataset("tokens", as: Int64.self),
                                             try reference.readDataset("targets", as: Int64.self)))
    }
}
