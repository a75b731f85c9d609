import GrowkitState

/// One training run to draw: what a checkpoint's metadata says about its curve.
/// Built by the CLI from `CheckpointReader`; the plot itself never reads files.
public struct PlotRun: Sendable, Hashable {
    /// The legend entry (the file name, or `--label`).
    public var label: String
    /// The checkpoint's file name (last path component), matched against other
    /// runs' provenance `source` to find where they grew (``GrowthLocator``).
    public var fileName: String
    public var history: TrainingHistory
    /// Oldest first; records with operator `grow` are growths.
    public var provenance: [ProvenanceRecord]
    /// The model as it is now; FLOPs use it and the `growth.sizes` of each growth.
    public var config: ModelConfig

    public init(label: String, fileName: String, history: TrainingHistory, provenance: [ProvenanceRecord], config: ModelConfig) {
        self.label = label
        self.fileName = fileName
        self.history = history
        self.provenance = provenance
        self.config = config
    }
}

/// What the horizontal axis counts.
public enum XQuantity: String, Sendable, CaseIterable {
    /// Tokens seen (`/history/tokens`).
    case tokens
    /// Training compute, `6 N D` summed over the run's segments (``FlopsCurve``).
    case flops
    /// Optimizer steps (`/history/step`).
    case steps
}

/// How an axis maps values to pixels.
public enum AxisScale: String, Sendable, CaseIterable {
    case linear
    case log
}

/// Everything about the picture except the runs.
public struct PlotOptions: Sendable, Hashable {
    public var x: XQuantity
    public var xScale: AxisScale
    public var yScale: AxisScale
    public var title: String
    /// Canvas size in pixels (SVG user units).
    public var width: Double
    public var height: Double

    public init(x: XQuantity = .tokens, xScale: AxisScale = .linear, yScale: AxisScale = .log,
                title: String = "Training loss", width: Double = 800, height: Double = 500) {
        self.x = x
        self.xScale = xScale
        self.yScale = yScale
        self.title = title
        self.width = width
        self.height = height
    }
}
