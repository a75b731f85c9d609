import CHDF5

/// What an HDF5 path names.
public enum ObjectKind: String, Sendable, Equatable {
    case group
    case dataset
    /// A named datatype or anything else growkit does not write.
    case other
}

/// One child of a group.
public struct ChildInfo: Sendable, Equatable {
    public var name: String
    public var kind: ObjectKind
}

/// An open HDF5 object (file, group or dataset): owns one `hid_t` and closes it
/// exactly once, on `close()` or in `deinit`, whichever comes first.
///
/// Every object keeps its parent alive, so a file stays open while any object
/// opened from it is in use. Attribute access (`HDF5Object+Attributes.swift`) is
/// shared by all kinds.
public class HDF5Object {
    /// The raw HDF5 identifier, for callers that need the C API directly (tests).
    /// Invalid after `close()`.
    public private(set) var rawID: hid_t
    /// Path of the file on disk, for messages.
    public let filePath: String
    /// Absolute path of this object inside the file (`/` for the root group).
    public let objectPath: String
    /// Keeps the parent (and so the file) open while this object lives.
    let parent: HDF5Object?

    init(rawID: hid_t, filePath: String, objectPath: String, parent: HDF5Object?) {
        self.rawID = rawID
        self.filePath = filePath
        self.objectPath = objectPath
        self.parent = parent
    }

    deinit { closeID() }

    /// The file this object belongs to.
    var owningFile: HDF5File? {
        var object: HDF5Object? = self
        while let current = object {
            if let file = current as? HDF5File { return file }
            object = current.parent
        }
        return nil
    }

    /// Site for error messages about this object.
    var site: Site { Site(file: filePath, object: objectPath) }

    /// Site for error messages about a child path of this object.
    func site(_ name: String) -> Site { Site(file: filePath, object: joinPath(objectPath, name)) }

    /// Whether the identifier is still open (a file closed explicitly closes all
    /// its objects, see `HDF5File.close()`).
    public var isOpen: Bool { rawID >= 0 && H5Iis_valid(rawID) > 0 }

    /// Closes the identifier; idempotent. Returns HDF5's status of the close.
    @discardableResult
    func closeID() -> herr_t {
        guard rawID >= 0 else { return 0 }
        defer { rawID = -1 }
        guard H5Iis_valid(rawID) > 0 else { return 0 }
        let status: herr_t
        switch H5Iget_type(rawID) {
        case H5I_FILE: status = H5Fclose(rawID)
        case H5I_GROUP: status = H5Gclose(rawID)
        case H5I_DATASET: status = H5Dclose(rawID)
        default: status = H5Oclose(rawID)
        }
        if status < 0 { _ = H5Eclear2(growkit_H5E_DEFAULT()) }
        return status
    }

    /// The open identifier, or an error when the object (or its file) was closed.
    func openID() throws(StorageError) -> hid_t {
        guard isOpen else {
            throw .invalidArgument(file: filePath, object: objectPath, reason: "used after its file was closed; keep the file open while reading or writing")
        }
        return rawID
    }
}
