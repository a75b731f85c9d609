/// Okabe and Ito's colour-blind-safe palette (2008), black and yellow left out
/// (black is the axes' colour, yellow is unreadable on white). Run `i` gets
/// colour `i mod 6`; beyond six runs the colours repeat with a dashed stroke.
public enum Palette {
    public static let colours = [
        "#0072B2",  // blue
        "#D55E00",  // vermillion
        "#009E73",  // bluish green
        "#CC79A7",  // reddish purple
        "#E69F00",  // orange
        "#56B4E9",  // sky blue
    ]

    public static func colour(_ index: Int) -> String { colours[index % colours.count] }

    /// `stroke-dasharray` of run `index`: solid for the first lap of the palette.
    public static func dash(_ index: Int) -> String? { index < colours.count ? nil : "6 3" }
}
