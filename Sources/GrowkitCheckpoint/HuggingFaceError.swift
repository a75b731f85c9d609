import GrowkitState
import GrowkitStorage

/// Errors of reading and writing Hugging Face model folders (`config.json` plus safetensors).
/// Every case renders as one sentence naming the file, the tensor or key, and what to do.
public enum HuggingFaceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A safetensors file or index breaks the format (already one sentence).
    case safetensors(SafeTensorsError)
    /// A growkit checkpoint could not be read or written (already one sentence).
    case state(StateError)
    /// config.json names an architecture growkit does not convert.
    case unsupportedArchitecture(file: String, found: String)
    /// config.json is missing, not JSON, or a key has a value growkit cannot honour.
    case invalidConfig(file: String, key: String, problem: String)
    /// A tensor the architecture does not have.
    case unexpectedTensor(file: String, tensor: String, architecture: String)
    /// A tensor the architecture needs is absent.
    case missingTensor(file: String, tensor: String)
    /// A tensor's shape disagrees with config.json.
    case wrongShape(file: String, tensor: String, found: [Int], expected: [Int])
    /// `lm_head.weight` is present, the config ties it, and it differs from the embedding.
    case untiedHead(file: String, tensor: String)
    /// The input path is neither a folder nor a `.safetensors` file, or the output cannot be made.
    case invalidPath(path: String, problem: String)
    /// A growkit state that the Hugging Face architecture cannot express.
    case notExpressible(file: String, problem: String)

    /// The architectures growkit converts, as named in config.json.
    public static let supportedArchitectures = "GPT2LMHeadModel (model_type gpt2) and LlamaForCausalLM (model_type llama)"

    public var description: String {
        let text: String
        switch self {
        case .safetensors(let error): return error.description
        case .state(let error): return error.description
        case .unsupportedArchitecture(let file, let found):
            text = "\(file): architecture \(found) is not supported; growkit converts \(Self.supportedArchitectures)"
        case .invalidConfig(let file, let key, let problem):
            text = "\(file): \(key) \(problem); fix config.json or re-export the model with transformers"
        case .unexpectedTensor(let file, let tensor, let architecture):
            text = "\(file): tensor \(tensor) is not a parameter of \(architecture) as config.json describes it; check that config.json belongs to these weights"
        case .missingTensor(let file, let tensor):
            text = "\(file): tensor \(tensor) is missing but config.json implies it; check that the weights are complete and belong to this config.json"
        case .wrongShape(let file, let tensor, let found, let expected):
            text = "\(file): tensor \(tensor) has shape \(found) but config.json implies \(expected); check that config.json belongs to these weights"
        case .untiedHead(let file, let tensor):
            text = "\(file): tensor \(tensor) differs from the token embedding although config.json sets tie_word_embeddings; set it to false or drop the tensor"
        case .invalidPath(let path, let problem):
            text = "\(path): \(problem)"
        case .notExpressible(let file, let problem):
            text = "\(file): \(problem)"
        }
        return StateError.oneSentence(text)
    }
}
