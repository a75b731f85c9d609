/// The `OP[:ARGS]` syntax of `grow --depth` and `--width`: an operator name, then
/// comma-separated arguments, each `key=value` or a bare value (a factor, or
/// `stack`'s slices `a-b`).
///
///     --depth stack:2            --depth stack:0-5,0-5        --depth interleave:2
///     --depth identity:2,source=next,placement=append        --depth identity:layers=12
///     --depth random:layers=10   --width duplicate:2,snr=30   --width staged
///     --width zero:hidden=96,intermediate=256,heads=6,kv_heads=3
///     --width split:intermediate=512   --width random:2
public enum OperatorSyntax {
    public static let depthOperators = ["stack", "interleave", "identity", "random"]
    public static let widthOperators = ["duplicate", "staged", "zero", "split", "random"]

    /// Parses `--depth OP[:ARGS]`.
    public static func depth(_ text: String) throws(GrowthError) -> DepthOperator {
        let (name, positional, named) = try split(text, axis: "depth", known: depthOperators)
        var arguments = Arguments(op: name, positional: positional, named: named)
        let result: DepthOperator
        switch name {
        case "stack":
            if !positional.isEmpty, positional.allSatisfy({ $0.contains("-") }) {
                let ranges = try positional.map { item throws(GrowthError) in try range(item) }
                arguments.positional = []
                result = .slices(ranges)
            } else {
                result = .stack(try arguments.target(default: 2))
            }
        case "interleave":
            result = .interleave(try arguments.factor(default: 2))
        case "identity":
            let target = try arguments.target(default: 2)
            let source = try arguments.choice("source", default: DepthOperator.IdentitySource.previous)
            let placement = try arguments.choice("placement", default: DepthOperator.Placement.spread)
            result = .identity(target, source: source, placement: placement)
        default:
            let target = try arguments.target(default: 2)
            result = .random(target, placement: try arguments.choice("placement", default: DepthOperator.Placement.spread))
        }
        try arguments.finish()
        return result
    }

    /// Parses `--width OP[:ARGS]`.
    public static func width(_ text: String) throws(GrowthError) -> WidthOperator {
        let (name, positional, named) = try split(text, axis: "width", known: widthOperators)
        var arguments = Arguments(op: name, positional: positional, named: named)
        let result: WidthOperator
        switch name {
        case "duplicate":
            let n = try arguments.factor(default: 2)
            let snr = try arguments.double("snr")
            result = .duplicate(n, snr: snr)
        case "staged":
            let n = try arguments.factor(default: 2)
            guard n == 2 else {
                throw .invalidArgument(operator: "staged", argument: "factor \(n)", problem: "is not 2; staged training doubles the width (use duplicate for other factors)")
            }
            result = .staged
        default:
            let target = try arguments.widthTarget()
            result = switch name {
            case "zero": .zero(target)
            case "split": .split(target)
            default: .random(target)
            }
        }
        try arguments.finish()
        return result
    }

    private static func split(_ text: String, axis: String, known: [String]) throws(GrowthError)
        -> (String, [String], [(String, String)])
    {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingSpaces
        guard known.contains(name) else { throw .unknownOperator(axis: axis, name: name, known: known) }
        var positional: [String] = [], named: [(String, String)] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
                if pieces.count == 2 { named.append((pieces[0], pieces[1])) } else { positional.append(pieces[0]) }
            }
        }
        return (name, positional, named)
    }

    private static func range(_ item: String) throws(GrowthError) -> ClosedRange<Int> {
        let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high else {
            throw .invalidArgument(operator: "stack", argument: "slice '\(item)'", problem: "is not a layer range a-b with 0 <= a <= b (e.g. 0-5)")
        }
        return low...high
    }
}

/// The arguments of one operator, consumed as they are read so leftovers can be refused.
private struct Arguments {
    let op: String
    var positional: [String]
    var named: [(String, String)]

    mutating func take(_ key: String) -> String? {
        guard let index = named.firstIndex(where: { $0.0 == key }) else { return nil }
        return named.remove(at: index).1
    }

    func integer(_ text: String, _ label: String) throws(GrowthError) -> Int {
        guard let value = Int(text) else {
            throw .invalidArgument(operator: op, argument: "\(label) '\(text)'", problem: "is not an integer")
        }
        return value
    }

    /// A bare factor (`stack:4`) or `factor=4`, at least 2.
    mutating func factor(default value: Int) throws(GrowthError) -> Int {
        let text = positional.isEmpty ? take("factor") : positional.removeFirst()
        guard let text else { return value }
        let factor = try integer(text, "factor")
        guard factor >= 2 else {
            throw .invalidArgument(operator: op, argument: "factor \(factor)", problem: "must be an integer >= 2")
        }
        return factor
    }

    /// A factor, or `layers=N`.
    mutating func target(default value: Int) throws(GrowthError) -> DepthOperator.Target {
        if let layers = take("layers") { return .layers(try integer(layers, "layers")) }
        return .factor(try factor(default: value))
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) throws(GrowthError) -> T
    where T.RawValue == String {
        guard let text = take(key) else { return value }
        guard let choice = T(rawValue: text) else {
            throw .invalidArgument(operator: op, argument: "\(key)=\(text)",
                                   problem: "is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    mutating func double(_ key: String) throws(GrowthError) -> Double? {
        guard let text = take(key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw .invalidArgument(operator: op, argument: "\(key)=\(text)", problem: "is not a finite number")
        }
        return value
    }

    /// `hidden=, intermediate=, heads=, kv_heads=`, or a bare factor for all four (one kv head stays one).
    mutating func widthTarget() throws(GrowthError) -> WidthOperator.Target {
        var target = WidthOperator.Target()
        if !positional.isEmpty || named.contains(where: { $0.0 == "factor" }) {
            target.factor = try factor(default: 2)
        }
        for key in ["hidden", "intermediate", "heads", "kv_heads"] {
            guard let text = take(key) else { continue }
            let value = try integer(text, key)
            guard value >= 1 else { throw .invalidArgument(operator: op, argument: "\(key)=\(value)", problem: "must be a positive integer") }
            switch key {
            case "hidden": target.hidden = value
            case "intermediate": target.intermediate = value
            case "heads": target.heads = value
            default: target.kvHeads = value
            }
        }
        return target
    }

    func finish() throws(GrowthError) {
        if let extra = positional.first {
            throw .invalidArgument(operator: op, argument: "'\(extra)'", problem: "is not an argument it takes")
        }
        if let (key, value) = named.first {
            throw .invalidArgument(operator: op, argument: "\(key)=\(value)", problem: "is not an argument it takes (see growkit grow --help)")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
