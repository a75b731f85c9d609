import GrowkitState
import GrowkitStorage

/// Names of format v1 (docs/FORMAT.md), in one place for reader and writer.
public enum CheckpointLayout {
    public static let format = "growkit.training-state"
    public static let formatVersion = 1
    /// Groups every state has, weights-only or not.
    public static let requiredGroups = ["/config", "/params", "/provenance"]
    /// Groups a full state has and a weights-only state has none of (present together or not at all).
    public static let trainingGroups = [
        "/optimizer", "/optimizer/exp_avg", "/optimizer/exp_avg_sq", "/schedule", "/trainer", "/history",
    ]
    public static let rngStatePath = "/trainer/rng_state"
    public static let provenancePath = "/provenance/records"
    /// Longest history and provenance a reader accepts (entries): 16M logged
    /// steps is far beyond any run (Llama 3 405B took about 1.2M), and bounds what is allocated.
    public static let maxLogEntries = 1 << 24
    /// Longest string attribute a reader accepts (names, kinds, versions).
    public static let maxAttributeStringBytes = 4096
    /// Bound on all provenance records together (bytes of JSON): thousands of records.
    public static let maxProvenanceBytes = 1 << 26

    static func parameterPath(_ spec: ParameterSpec) -> String { "/params/" + spec.storagePath }
    static func expAvgPath(_ spec: ParameterSpec) -> String { "/optimizer/exp_avg/" + spec.storagePath }
    static func expAvgSqPath(_ spec: ParameterSpec) -> String { "/optimizer/exp_avg_sq/" + spec.storagePath }
}

/// Which of the three tensors of a parameter a stored dataset is.
public enum TensorRole: String, Sendable, Hashable, Codable, CaseIterable {
    case parameter
    case expAvg = "exp_avg"
    case expAvgSq = "exp_avg_sq"
}

/// How a tensor's elements are stored.
public enum StoredElementType: String, Sendable, Hashable, Codable {
    case float32
    /// `uint16` with attribute `dtype = "bfloat16"`; converted to float32 on read.
    case bfloat16

    /// Bytes per element in the file before compression.
    public var byteWidth: Int { self == .float32 ? 4 : 2 }
}

/// Metadata of one stored tensor, read without reading its data.
public struct StoredTensorInfo: Sendable, Hashable {
    /// Absolute HDF5 path, e.g. `/optimizer/exp_avg/model/norm/weight`.
    public var path: String
    /// The dotted parameter name it belongs to.
    public var parameter: String
    public var role: TensorRole
    public var shape: [Int]
    public var elementType: StoredElementType
    /// Chunk dimensions, or `nil` for a contiguous dataset.
    public var chunkShape: [Int]?
    /// zstd level, or `nil` when not compressed.
    public var zstdLevel: Int?
    public var fletcher32: Bool
    /// Bytes the dataset takes in the file (after compression).
    public var storedBytes: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes before compression.
    public var rawBytes: Int { elementCount * elementType.byteWidth }
}
