import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scalar and 1-D attributes on any object (the file's root group, a group, a dataset).
///
/// Written types follow format v1: strings as scalar variable-length UTF-8,
/// integers as int64 little-endian, reals as float64, booleans as uint8 0/1,
/// arrays as 1-D int64 / float64. Readers are lenient where the format says so:
/// fixed-length strings, any integer type, float32 or float64, and h5py's
/// boolean enum (an HDF5 enum over int8 with FALSE = 0, TRUE = 1).
/// Setting an attribute that exists replaces it.
extension HDF5Object {

    // MARK: write

    public func setAttribute(_ name: String, string value: String) throws(StorageError) {
        let site = attributeSite(name)
        let type = try makeVariableStringType(site)
        defer { H5Tclose(type) }
        var pointer: UnsafeMutablePointer<CChar>? = strdup(value)
        defer { free(pointer) }
        try writeAttribute(name, fileType: type, memoryType: type, shape: nil, &pointer)
    }

    public func setAttribute(_ name: String, int64 value: Int64) throws(StorageError) {
        var v = value
        try writeAttribute(name, fileType: growkit_H5T_STD_I64LE(), memoryType: growkit_H5T_NATIVE_INT64(), shape: nil, &v)
    }

    /// Convenience for `Int` values (stored as int64).
    public func setAttribute(_ name: String, int value: Int) throws(StorageError) {
        try setAttribute(name, int64: Int64(value))
    }

    public func setAttribute(_ name: String, double value: Double) throws(StorageError) {
        var v = value
        try writeAttribute(name, fileType: growkit_H5T_IEEE_F64LE(), memoryType: growkit_H5T_NATIVE_DOUBLE(), shape: nil, &v)
    }

    /// Stored as uint8 0 or 1.
    public func setAttribute(_ name: String, bool value: Bool) throws(StorageError) {
        var v: UInt8 = value ? 1 : 0
        try writeAttribute(name, fileType: growkit_H5T_STD_U8LE(), memoryType: growkit_H5T_NATIVE_UINT8(), shape: nil, &v)
    }

    public func setAttribute(_ name: String, int64Array values: [Int64]) throws(StorageError) {
        var v = values
        try writeAttribute(name, fileType: growkit_H5T_STD_I64LE(), memoryType: growkit_H5T_NATIVE_INT64(), shape: values.count, &v)
    }

    public func setAttribute(_ name: String, doubleArray values: [Double]) throws(StorageError) {
        var v = values
        try writeAttribute(name, fileType: growkit_H5T_IEEE_F64LE(), memoryType: growkit_H5T_NATIVE_DOUBLE(), shape: values.count, &v)
    }

    // MARK: query

    /// Whether this object has an attribute `name`.
    public func hasAttribute(_ name: String) throws(StorageError) -> Bool {
        HDF5Library.ensure()
        let id = try openID()
        return try attributeSite(name).check(name.withCString { H5Aexists(id, $0) }, "look up") > 0
    }

    /// Names of this object's attributes, in name order.
    public func attributeNames() throws(StorageError) -> [String] {
        HDF5Library.ensure()
        let id = try openID()
        final class Names { var list: [String] = [] }
        let names = Names()
        var index: hsize_t = 0
        let status = H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, context in
            guard let name, let context else { return 0 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }, Unmanaged.passUnretained(names).toOpaque())
        try site.check(status, "list the attributes of")
        return names.list
    }

    /// The stored type of attribute `name` and its number of elements (1 for a scalar).
    public func attributeType(_ name: String) throws(StorageError) -> (elementType: ElementType, count: Int) {
        let attribute = try openAttribute(name)
        defer { closeAttribute(attribute) }
        return (attribute.elementType, attribute.count)
    }

    // MARK: read

    /// A string attribute (variable- or fixed-length, any character set).
    public func stringAttribute(_ name: String) throws(StorageError) -> String {
        let attribute = try openAttribute(name)
        defer { closeAttribute(attribute) }
        let site = attributeSite(name)
        guard attribute.elementType.typeClass == .string, attribute.count == 1 else {
            throw wrongType(name, "a string", attribute)
        }
        let memoryType = try site.check(H5Tcopy(attribute.type), "read")
        defer { H5Tclose(memoryType) }
        if attribute.elementType.isVariableLength {
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try site.check(H5Aread(attribute.id, memoryType, &pointer), "read")
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(attribute.type)
        guard size <= 1 << 20 else { throw .tooLarge(file: filePath, object: site.object, reason: "a string attribute of \(size) bytes") }
        var raw = [UInt8](repeating: 0, count: size)
        try site.check(H5Aread(attribute.id, memoryType, &raw), "read")
        return decodeFixedString(raw[...], padding: H5Tget_strpad(attribute.type))
    }

    /// An integer attribute of any HDF5 integer type, as Int64.
    public func int64Attribute(_ name: String) throws(StorageError) -> Int64 {
        let values = try integerValues(name, scalar: true)
        return values[0]
    }

    /// A real attribute stored as float32 or float64, as Double.
    public func doubleAttribute(_ name: String) throws(StorageError) -> Double {
        try doubleValues(name, scalar: true)[0]
    }

    /// A boolean attribute: any integer 0 or 1, or h5py's bool enum.
    public func boolAttribute(_ name: String) throws(StorageError) -> Bool {
        let attribute = try openAttribute(name)
        defer { closeAttribute(attribute) }
        let site = attributeSite(name)
        guard attribute.count == 1 else { throw wrongType(name, "a boolean", attribute) }
        let value: Int64
        switch attribute.elementType.typeClass {
        case .integer:
            value = try readIntegers(attribute, site)[0]
        case .enumeration:
            // h5py's bool: enum over int8 {FALSE = 0, TRUE = 1}. Read the raw base value.
            let base = H5Tget_super(attribute.type)
            guard base >= 0 else { throw site.error("read") }
            defer { H5Tclose(base) }
            guard H5Tget_class(base) == H5T_INTEGER, H5Tget_nmembers(attribute.type) == 2 else {
                throw wrongType(name, "a boolean", attribute)
            }
            // Read the raw stored value with the native form of the enum type itself
            // (no enum -> integer conversion involved), then widen the base integer.
            let size = H5Tget_size(base)
            guard size >= 1, size <= 8 else { throw wrongType(name, "a boolean", attribute) }
            let nativeType = H5Tget_native_type(attribute.type, H5T_DIR_DEFAULT)
            guard nativeType >= 0 else { throw site.error("read") }
            defer { H5Tclose(nativeType) }
            var raw: UInt64 = 0
            try site.check(H5Aread(attribute.id, nativeType, &raw), "read")
            // Little-endian host: the low `size` bytes hold the value; sign-extend if signed.
            let bits = UInt64(size * 8)
            let masked = bits == 64 ? raw : raw & ((1 << bits) - 1)
            let signed = H5Tget_sign(base) == H5T_SGN_2
            if signed && bits < 64 && (masked >> (bits - 1)) & 1 == 1 {
                value = Int64(bitPattern: masked | ~((1 << bits) - 1))
            } else {
                value = Int64(bitPattern: masked)
            }
        default:
            throw wrongType(name, "a boolean", attribute)
        }
        guard value == 0 || value == 1 else {
            throw .wrongType(file: filePath, object: site.object, expected: "a boolean (0 or 1)", found: "the integer \(value)")
        }
        return value == 1
    }

    /// A 1-D integer attribute (any integer type) as [Int64]; a scalar reads as one element.
    public func int64ArrayAttribute(_ name: String) throws(StorageError) -> [Int64] {
        try integerValues(name, scalar: false)
    }

    /// A 1-D real attribute (float32 or float64) as [Double]; a scalar reads as one element.
    public func doubleArrayAttribute(_ name: String) throws(StorageError) -> [Double] {
        try doubleValues(name, scalar: false)
    }

    /// Deletes attribute `name` if present.
    public func removeAttribute(_ name: String) throws(StorageError) {
        if try hasAttribute(name) {
            let id = try openID()
            try attributeSite(name).check(name.withCString { H5Adelete(id, $0) }, "delete")
        }
    }
}

// MARK: internals

struct OpenAttribute {
    var id: hid_t
    var type: hid_t
    var elementType: ElementType
    var count: Int
    var rank: Int
}

extension HDF5Object {
    func attributeSite(_ name: String) -> Site {
        Site(file: filePath, object: "attribute '\(name)' of \(objectPath)")
    }

    func wrongType(_ name: String, _ expected: String, _ attribute: OpenAttribute) -> StorageError {
        let shape = attribute.rank == 0 ? "" : " array of \(attribute.count)"
        return .wrongType(file: filePath, object: attributeSite(name).object, expected: expected, found: attribute.elementType.description + shape)
    }

    /// Opens attribute `name`; the caller releases it with `closeAttribute`.
    func openAttribute(_ name: String) throws(StorageError) -> OpenAttribute {
        HDF5Library.ensure()
        let id = try openID()
        let site = attributeSite(name)
        guard try hasAttribute(name) else {
            throw .missingAttribute(file: filePath, object: objectPath, attribute: name)
        }
        let aid = try site.check(name.withCString { H5Aopen(id, $0, growkit_H5P_DEFAULT()) }, "open")
        let type = H5Aget_type(aid)
        let space = H5Aget_space(aid)
        defer { if space >= 0 { H5Sclose(space) } }
        guard type >= 0, space >= 0 else {
            let error = site.error("read")
            if type >= 0 { H5Tclose(type) }
            H5Aclose(aid)
            throw error
        }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        let points = H5Sget_simple_extent_npoints(space)
        return OpenAttribute(id: aid, type: type, elementType: ElementType.of(type), count: Int(max(points, 0)), rank: rank)
    }

    func readIntegers(_ attribute: OpenAttribute, _ site: Site) throws(StorageError) -> [Int64] {
        guard attribute.count <= 1 << 24 else { throw .tooLarge(file: filePath, object: site.object, reason: "\(attribute.count) elements") }
        if !attribute.elementType.isSigned && attribute.elementType.size >= 8 {
            var raw = [UInt64](repeating: 0, count: attribute.count)
            try site.check(H5Aread(attribute.id, growkit_H5T_NATIVE_UINT64(), &raw), "read")
            var out: [Int64] = []
            for v in raw {
                guard v <= UInt64(Int64.max) else {
                    throw .wrongType(file: filePath, object: site.object, expected: "an integer that fits in int64", found: "the value \(v)")
                }
                out.append(Int64(v))
            }
            return out
        }
        var values = [Int64](repeating: 0, count: attribute.count)
        try site.check(H5Aread(attribute.id, growkit_H5T_NATIVE_INT64(), &values), "read")
        return values
    }

    func integerValues(_ name: String, scalar: Bool) throws(StorageError) -> [Int64] {
        let attribute = try openAttribute(name)
        defer { closeAttribute(attribute) }
        guard attribute.elementType.typeClass == .integer, attribute.rank <= 1, !scalar || attribute.count == 1 else {
            throw wrongType(name, scalar ? "an integer" : "an integer array", attribute)
        }
        return try readIntegers(attribute, attributeSite(name))
    }

    func doubleValues(_ name: String, scalar: Bool) throws(StorageError) -> [Double] {
        let attribute = try openAttribute(name)
        defer { closeAttribute(attribute) }
        let site = attributeSite(name)
        guard attribute.elementType.typeClass == .float, attribute.elementType.size == 4 || attribute.elementType.size == 8,
            attribute.rank <= 1, !scalar || attribute.count == 1
        else {
            throw wrongType(name, scalar ? "a real number" : "a real array", attribute)
        }
        guard attribute.count <= 1 << 24 else { throw .tooLarge(file: filePath, object: site.object, reason: "\(attribute.count) elements") }
        var values = [Double](repeating: 0, count: attribute.count)
        try site.check(H5Aread(attribute.id, growkit_H5T_NATIVE_DOUBLE(), &values), "read")
        return values
    }

    func closeAttribute(_ attribute: OpenAttribute) {
        H5Tclose(attribute.type)
        H5Aclose(attribute.id)
    }

    /// Creates (or replaces) attribute `name`: scalar when `shape` is nil, else 1-D of `shape` elements.
    func writeAttribute(_ name: String, fileType: hid_t, memoryType: hid_t, shape: Int?, _ value: UnsafeRawPointer) throws(StorageError) {
        HDF5Library.ensure()
        let id = try openID()
        let site = attributeSite(name)
        try removeAttribute(name)
        let space: hid_t
        if let shape {
            var dims = [hsize_t(shape)]
            space = try site.check(H5Screate_simple(1, &dims, nil), "create the dataspace of")
        } else {
            space = try site.check(H5Screate(H5S_SCALAR), "create the dataspace of")
        }
        defer { H5Sclose(space) }
        let aid = try site.check(name.withCString { H5Acreate2(id, $0, fileType, space, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT()) }, "create")
        defer { H5Aclose(aid) }
        if shape != 0 {
            try site.check(H5Awrite(aid, memoryType, value), "write")
        }
    }
}
