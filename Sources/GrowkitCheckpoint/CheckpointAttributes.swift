import GrowkitState
import GrowkitStorage

/// Typed attribute and object access on an open checkpoint, translating storage
/// failures into ``StateError`` sentences that name the file and the object.
/// `file` is the path as the user gave it, for messages.
struct CheckpointAccess {
    let handle: HDF5File
    let file: String

    /// Runs a storage call, translating its error.
    func storage<T>(_ body: () throws(StorageError) -> T) throws(StateError) -> T {
        do {
            return try body()
        } catch {
            throw translate(error)
        }
    }

    func translate(_ error: StorageError) -> StateError {
        switch error {
        case .checksumMismatch(_, let dataset): .corrupted(file: file, object: dataset)
        case .missingAttribute(_, let object, let attribute): .missingAttribute(file: file, object: object, attribute: attribute)
        case .wrongType(_, let object, let expected, let found): .wrongType(file: file, object: object, expected: expected, found: found)
        default: .storage(error)
        }
    }

    /// Requires a group at `path`.
    func requireGroup(_ path: String) throws(StateError) -> HDF5Group {
        let kind = try storage { () throws(StorageError) in try handle.kind(of: path) }
        switch kind {
        case .group?: return try storage { () throws(StorageError) in try handle.openGroup(path) }
        case nil: throw .missingObject(file: file, object: path, kind: "group")
        case let other?: throw .wrongType(file: file, object: path, expected: "a group", found: "a \(other.rawValue)")
        }
    }

    /// Requires a dataset at `path` (storage's `openDataset` checks presence and kind).
    func requireDataset(_ path: String) throws(StateError) -> HDF5Dataset {
        do {
            return try handle.openDataset(path)
        } catch {
            if case .missingObject = error { throw .missingObject(file: file, object: path, kind: "dataset") }
            throw translate(error)
        }
    }

    /// `object`'s attribute `name`, which must exist, be scalar and of `expected` class.
    private func requireAttribute(_ object: HDF5Object, _ name: String, _ expected: String,
                                  _ classes: Set<ElementType.TypeClass>) throws(StateError) {
        let present = try storage { () throws(StorageError) in try object.hasAttribute(name) }
        guard present else { throw .missingAttribute(file: file, object: object.objectPath, attribute: name) }
        let (type, count) = try storage { () throws(StorageError) in try object.attributeType(name) }
        guard classes.contains(type.typeClass), count == 1 else {
            let found = count == 1 ? "\(type)" : "an array of \(count) \(type)"
            throw .wrongType(file: file, object: attributeName(object, name), expected: "a scalar \(expected)", found: found)
        }
    }

    func attributeName(_ object: HDF5Object, _ name: String) -> String {
        "attribute \(name) of \(object.objectPath)"
    }

    func string(_ object: HDF5Object, _ name: String) throws(StateError) -> String {
        try requireAttribute(object, name, "string", [.string])
        let value = try storage { () throws(StorageError) in try object.stringAttribute(name) }
        // Every format v1 string attribute is a short name or version.
        guard value.utf8.count <= CheckpointLayout.maxAttributeStringBytes else {
            throw .invalidValue(file: file, object: attributeName(object, name),
                                problem: "is a string of \(value.utf8.count) bytes, longer than any format v1 value (at most \(CheckpointLayout.maxAttributeStringBytes))")
        }
        return value
    }

    func int(_ object: HDF5Object, _ name: String, minimum: Int = 0) throws(StateError) -> Int {
        try requireAttribute(object, name, "integer", [.integer])
        let value = try storage { () throws(StorageError) in try object.int64Attribute(name) }
        guard value >= Int64(minimum) else {
            throw .invalidValue(file: file, object: attributeName(object, name), problem: "is \(value); it must be >= \(minimum)")
        }
        return Int(value)
    }

    func optionalInt(_ object: HDF5Object, _ name: String, minimum: Int = 0) throws(StateError) -> Int? {
        let present = try storage { () throws(StorageError) in try object.hasAttribute(name) }
        return present ? try int(object, name, minimum: minimum) : nil
    }

    func double(_ object: HDF5Object, _ name: String) throws(StateError) -> Double {
        try requireAttribute(object, name, "real (float32 or float64)", [.float])
        let value = try storage { () throws(StorageError) in try object.doubleAttribute(name) }
        guard value.isFinite else {
            throw .invalidValue(file: file, object: attributeName(object, name), problem: "is \(value); it must be finite")
        }
        return value
    }

    func bool(_ object: HDF5Object, _ name: String) throws(StateError) -> Bool {
        try requireAttribute(object, name, "boolean (integer 0 or 1)", [.integer, .enumeration])
        return try storage { () throws(StorageError) in try object.boolAttribute(name) }
    }

    /// A string attribute that must be one of an enum's raw values.
    func choice<E: RawRepresentable & CaseIterable>(_ object: HDF5Object, _ name: String, as: E.Type) throws(StateError) -> E
    where E.RawValue == String {
        let raw = try string(object, name)
        guard let value = E(rawValue: raw) else {
            let allowed = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw .invalidValue(file: file, object: attributeName(object, name), problem: "is '\(raw)'; it must be one of \(allowed)")
        }
        return value
    }

    /// Metadata of a 1-D dataset of `type` with at most `maxCount` elements.
    func vectorInfo(_ path: String, _ type: ElementType, maxCount: Int) throws(StateError) -> DatasetInfo {
        let dataset = try requireDataset(path)
        let info = try storage { () throws(StorageError) in try dataset.info() }
        guard info.shape.count == 1 else {
            throw .wrongType(file: file, object: path, expected: "a 1-D dataset", found: "a dataset of rank \(info.shape.count)")
        }
        guard info.elementType.matches(type) else {
            throw .wrongType(file: file, object: path, expected: "\(type)", found: "\(info.elementType)")
        }
        guard info.shape[0] <= maxCount else {
            throw .invalidValue(file: file, object: path, problem: "has \(info.shape[0]) elements, above the sane bound \(maxCount)")
        }
        return info
    }
}
