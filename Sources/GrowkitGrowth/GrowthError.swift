/// Why a growth cannot be made; each renders as one sentence saying what would work.
public enum GrowthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An operator name that does not exist (`known` lists the ones that do).
    case unknownOperator(axis: String, name: String, known: [String])
    /// An argument the operator does not take, or a value it cannot use.
    case invalidArgument(operator: String, argument: String, problem: String)
    /// The operators cannot produce a consistent config.
    case impossible(String)

    public var description: String {
        let text: String
        switch self {
        case .unknownOperator(let axis, let name, let known):
            text = "unknown \(axis) operator '\(name)'; the \(axis) operators are \(known.joined(separator: ", "))"
        case .invalidArgument(let op, let argument, let problem):
            text = "\(op): \(argument) \(problem)"
        case .impossible(let problem):
            text = problem
        }
        var line = text
        while line.last == "." { line.removeLast() }
        return line + "."
    }
}
