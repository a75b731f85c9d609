/// Errors of the state layer. Every case renders as one sentence that names
/// the file and the object (`description`), for the CLI to print as is.
public enum StateError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message): "invalid model config: \(message)."
        }
    }
}
