import Foundation

/// Tick labels: short, with as many decimals as the tick step needs.
public enum TickFormat {
    /// `value` with the decimals a tick step of `step` needs (`0.5` -> 1, `0.25` -> 2); when
    /// `step` is 0 (log decade ticks), the fewest decimals that show the value.
    public static func plain(_ value: Double, step: Double) -> String {
        let decimals: Int
        if step > 0 {
            decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        } else {
            decimals = (0...6).first { d in
                let scale = pow(10, Double(d))
                return abs((value * scale).rounded() - value * scale) < 1e-6 * max(1, abs(value) * scale)
            } ?? 6
        }
        return String(format: "%.\(min(decimals, 12))f", value)
    }

    /// Counts with a suffix: `1.2M`, `500k`, `3B`, `2T` (k = 10^3, M = 10^6,
    /// B = 10^9, T = 10^12: the units language-model papers count tokens in).
    public static func count(_ value: Double, step: Double) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
        let magnitude = max(abs(value), step)
        for (unit, suffix) in units where magnitude >= unit {
            if value == 0 { return "0" }
            return plain(value / unit, step: step / unit) + suffix
        }
        return plain(value, step: step)
    }

    /// Scientific notation for FLOPs: `0`, `5e14`, `1.5e15`.
    public static func scientific(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let exponent = Int(floor(log10(abs(value)) + 1e-9))
        let mantissa = value / pow(10, Double(exponent))
        let mantissaStep = step > 0 ? step / pow(10, Double(exponent)) : 0
        var text = plain(mantissa, step: mantissaStep)
        if text.contains(".") {  // 1.50 -> 1.5, 2.0 -> 2
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return "\(text)e\(exponent)"
    }
}
