/// What one `growkit grow` did to a state, stored in its provenance record
/// under `growth`: enough for `verify` to know whether the growth claims to
/// preserve the function, and for `train --train-only new` (LLaMA Pro's
/// practice) to know what growth added.
///
/// Tensor names are dotted Hugging Face names of the grown model.
public struct GrowthRecord: Sendable, Hashable, Codable {
    /// Whether every operator applied claims function preservation: then the
    /// grown model's logits must match the source's within DESIGN section 6's
    /// tolerances (`verify` fails otherwise). Non-exact growth changes the loss by design.
    public var exact: Bool
    /// One entry per operator as given, e.g. `depth=identity:placement=spread`, `width=duplicate:2`.
    public var operators: [String]
    /// `num_layers`, `hidden_size`, `intermediate_size`, `num_heads`, `num_kv_heads`
    /// of the source and the grown model, as `[source, grown]`.
    public var sizes: [String: [Int]]
    /// For every grown layer, the source layer it was made from, or `nil` for a
    /// layer with no source (a new block: identity or random depth growth).
    public var layerSources: [Int?]
    /// Tensors none of whose entries has a source (fresh moments, step 0).
    public var newTensors: [String]
    /// Tensors some but not all of whose entries have a source (new rows or
    /// columns from width growth with `zero`, `random` or `staged`).
    public var partlyNewTensors: [String]
    /// Tensors every entry of which was copied from a source entry (possibly scaled).
    public var copiedTensors: [String]

    public init(exact: Bool, operators: [String], sizes: [String: [Int]], layerSources: [Int?],
                newTensors: [String], partlyNewTensors: [String], copiedTensors: [String]) {
        self.exact = exact
        self.operators = operators
        self.sizes = sizes
        self.layerSources = layerSources
        self.newTensors = newTensors
        self.partlyNewTensors = partlyNewTensors
        self.copiedTensors = copiedTensors
    }

    /// Grown layers with no source layer.
    public var newLayers: [Int] { layerSources.indices.filter { layerSources[$0] == nil } }

    enum CodingKeys: String, CodingKey {
        case exact, operators, sizes
        case layerSources = "layer_sources", newTensors = "new_tensors"
        case partlyNewTensors = "partly_new_tensors", copiedTensors = "copied_tensors"
    }
}
