import Foundation

/// A few helpers to write SVG by hand: escaped text, fixed-precision numbers.
struct SVGWriter {
    private(set) var text = ""

    mutating func line(_ s: String) { text += s + "\n" }

    /// A coordinate with two decimals (a hundredth of a pixel), `-0` written as `0`.
    static func number(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        return s == "-0.00" ? "0.00" : s
    }

    /// Text and attribute values with `& < > " '` escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Approximate width of `s` in pixels at `size` (sans-serif averages ~0.58 em per character).
    static func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.58 }
}
