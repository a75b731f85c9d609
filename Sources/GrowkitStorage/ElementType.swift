import CHDF5

/// The element type of a dataset or attribute as stored: class, size, sign.
///
/// Reading a dataset as a Swift type requires the stored type to be exactly
/// that type (`ElementType.float32` for `[Float]`, ...): no silent conversion.
public struct ElementType: Sendable, Hashable, CustomStringConvertible {
    public enum TypeClass: String, Sendable, Hashable {
        case integer, float, string, enumeration, other
    }
    public var typeClass: TypeClass
    /// Bytes per element as stored (for variable-length strings: HDF5's in-file
    /// reference size, not the string length).
    public var size: Int
    public var isSigned: Bool
    /// Variable-length strings.
    public var isVariableLength: Bool

    public init(typeClass: TypeClass, size: Int, isSigned: Bool, isVariableLength: Bool = false) {
        self.typeClass = typeClass
        self.size = size
        self.isSigned = isSigned
        self.isVariableLength = isVariableLength
    }

    public static let float32 = ElementType(typeClass: .float, size: 4, isSigned: true)
    public static let float64 = ElementType(typeClass: .float, size: 8, isSigned: true)
    public static let uint8 = ElementType(typeClass: .integer, size: 1, isSigned: false)
    public static let uint16 = ElementType(typeClass: .integer, size: 2, isSigned: false)
    public static let int64 = ElementType(typeClass: .integer, size: 8, isSigned: true)
    /// Variable-length UTF-8 string (the size field is not compared for strings).
    public static let variableString = ElementType(typeClass: .string, size: 0, isSigned: false, isVariableLength: true)

    /// Same stored type, comparing sizes except for variable-length strings.
    public func matches(_ other: ElementType) -> Bool {
        if typeClass == .string && other.typeClass == .string {
            return isVariableLength == other.isVariableLength && (isVariableLength || size == other.size)
        }
        return typeClass == other.typeClass && size == other.size
            && (typeClass != .integer || isSigned == other.isSigned)
    }

    public var description: String {
        switch typeClass {
        case .integer: return "\(isSigned ? "int" : "uint")\(size * 8)"
        case .float: return "float\(size * 8)"
        case .string: return isVariableLength ? "variable-length string" : "fixed-length string of \(size) bytes"
        case .enumeration: return "enum of \(size) byte(s)"
        case .other: return "an unsupported type of \(size) byte(s)"
        }
    }

    /// Reads the class, size and sign of an HDF5 datatype.
    static func of(_ type: hid_t) -> ElementType {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            return ElementType(typeClass: .integer, size: size, isSigned: H5Tget_sign(type) == H5T_SGN_2)
        case H5T_FLOAT:
            return ElementType(typeClass: .float, size: size, isSigned: true)
        case H5T_STRING:
            let variable = H5Tis_variable_str(type) > 0
            return ElementType(typeClass: .string, size: variable ? 0 : size, isSigned: false, isVariableLength: variable)
        case H5T_ENUM:
            return ElementType(typeClass: .enumeration, size: size, isSigned: false)
        default:
            return ElementType(typeClass: .other, size: size, isSigned: false)
        }
    }

    /// The little-endian file type and native memory type for numeric types.
    var hdf5Types: (file: hid_t, memory: hid_t)? {
        switch (typeClass, size, isSigned) {
        case (.float, 4, _): return (growkit_H5T_IEEE_F32LE(), growkit_H5T_NATIVE_FLOAT())
        case (.float, 8, _): return (growkit_H5T_IEEE_F64LE(), growkit_H5T_NATIVE_DOUBLE())
        case (.integer, 1, false): return (growkit_H5T_STD_U8LE(), growkit_H5T_NATIVE_UINT8())
        case (.integer, 2, false): return (growkit_H5T_STD_U16LE(), growkit_H5T_NATIVE_UINT16())
        case (.integer, 8, true): return (growkit_H5T_STD_I64LE(), growkit_H5T_NATIVE_INT64())
        default: return nil
        }
    }
}

/// Swift element types that datasets can be read into and written from.
public protocol HDF5Numeric: Sendable {
    static var elementType: ElementType { get }
}
extension Float: HDF5Numeric { public static var elementType: ElementType { .float32 } }
extension Double: HDF5Numeric { public static var elementType: ElementType { .float64 } }
extension UInt8: HDF5Numeric { public static var elementType: ElementType { .uint8 } }
extension UInt16: HDF5Numeric { public static var elementType: ElementType { .uint16 } }
extension Int64: HDF5Numeric { public static var elementType: ElementType { .int64 } }

/// One filter of a dataset's creation pipeline, in pipeline order.
public struct FilterInfo: Sendable, Equatable {
    /// HDF5 filter id (3 = fletcher32, 32015 = zstd).
    public var id: Int32
    /// The filter's client data (`cd_values`); for zstd, `[level]`.
    public var cdValues: [UInt32]
    public var name: String
}

/// Metadata of a dataset, read without reading its data.
public struct DatasetInfo: Sendable, Equatable {
    /// Dimensions, slowest-varying first (row-major, as numpy and torch).
    public var shape: [Int]
    public var elementType: ElementType
    /// Chunk dimensions, or nil for a contiguous or compact layout.
    public var chunkShape: [Int]?
    /// Creation filters in pipeline order (applied first to last on write).
    public var filters: [FilterInfo]
    /// Product of `shape` (checked for overflow when the info is read).
    public var elementCount: Int

    /// Whether HDF5's fletcher32 checksum is in the pipeline.
    public var fletcher32: Bool { filters.contains { $0.id == H5Z_FILTER_FLETCHER32 } }
    /// The zstd level, or nil when the dataset is not zstd-compressed.
    public var zstdLevel: Int32? {
        guard let zstd = filters.first(where: { $0.id == ZstdFilter.id }) else { return nil }
        return zstd.cdValues.first.map { Int32(bitPattern: $0) } ?? ZstdFilter.defaultLevel
    }
}

/// How to create a dataset.
public struct DatasetOptions: Sendable, Equatable {
    /// Chunk dimensions; nil picks `DatasetOptions.chunkShape(for:elementSize:)`.
    public var chunkShape: [Int]?
    /// HDF5's fletcher32 checksum on every chunk (format v1 requires it).
    public var fletcher32: Bool
    /// zstd level (1...22), or nil for no compression.
    public var zstdLevel: Int32?

    public init(chunkShape: [Int]? = nil, fletcher32: Bool = true, zstdLevel: Int32? = nil) {
        self.chunkShape = chunkShape
        self.fletcher32 = fletcher32
        self.zstdLevel = zstdLevel
    }

    /// Chunked, fletcher32, uncompressed: the format's default.
    public static let `default` = DatasetOptions()

    /// Chunks of about `targetBytes` (default 1 MiB) along the first axis, made of
    /// whole rows (all trailing dimensions), sized so the chunks split the first
    /// dimension evenly: HDF5 stores an edge chunk at full size, so 341-row
    /// chunks of a 768-row matrix would waste a third of the file.
    ///
    ///     chunks = ceil(rows * rowBytes / targetBytes)   (at least 1)
    ///     chunkRows = ceil(rows / chunks)
    ///
    /// A row above `targetBytes` gets a chunk of its own. Zero-length dimensions
    /// get chunk extent 1 (HDF5 requires positive chunk dimensions). Rank 0
    /// returns `[]`.
    public static func chunkShape(for shape: [Int], elementSize: Int, targetBytes: Int = 1 << 20) -> [Int] {
        guard let first = shape.first else { return [] }
        var rowBytes = max(elementSize, 1)
        for d in shape.dropFirst() {
            let (product, overflow) = rowBytes.multipliedReportingOverflow(by: max(d, 1))
            rowBytes = overflow ? Int.max : product
        }
        let rowCount = max(first, 1)
        let target = max(targetBytes, 1)
        let rowsPerTarget = max(1, target / rowBytes)
        let chunks = (rowCount + rowsPerTarget - 1) / rowsPerTarget
        let rows = (rowCount + chunks - 1) / chunks
        return [rows] + shape.dropFirst().map { max($0, 1) }
    }
}
