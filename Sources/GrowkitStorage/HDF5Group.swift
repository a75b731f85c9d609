import CHDF5

/// An open HDF5 group (the file's root group is `HDF5File` itself).
///
/// Paths given to its methods are relative to the group (`"a/b/c"`) or absolute
/// (`"/a/b"`); `createGroup` and `createDataset` make missing intermediate groups.
public class HDF5Group: HDF5Object {

    /// Creates the group at `path` (and missing intermediate groups).
    /// Fails with `.alreadyExists` when something is there already.
    @discardableResult
    public func createGroup(_ path: String) throws(StorageError) -> HDF5Group {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        if try exists(path) { throw .alreadyExists(file: filePath, object: site.object) }
        let lcpl = try site.check(H5Pcreate(growkit_H5P_LINK_CREATE()), "create a link property list for")
        defer { H5Pclose(lcpl) }
        try site.check(H5Pset_create_intermediate_group(lcpl, 1), "set up")
        // No modification times in object headers: the same content gives the same bytes.
        let gcpl = try site.check(H5Pcreate(growkit_H5P_GROUP_CREATE()), "create the properties of")
        defer { H5Pclose(gcpl) }
        try site.check(H5Pset_obj_track_times(gcpl, false), "set up")
        let gid = try site.check(path.withCString { H5Gcreate2(id, $0, lcpl, gcpl, growkit_H5P_DEFAULT()) }, "create group")
        return HDF5Group(rawID: gid, filePath: filePath, objectPath: site.object, parent: self)
    }

    /// Opens the existing group at `path`.
    public func openGroup(_ path: String) throws(StorageError) -> HDF5Group {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        guard let kind = try kind(of: path) else { throw .missingObject(file: filePath, object: site.object) }
        guard kind == .group else {
            throw .wrongType(file: filePath, object: site.object, expected: "a group", found: "a \(kind.rawValue)")
        }
        let gid = try site.check(path.withCString { H5Gopen2(id, $0, growkit_H5P_DEFAULT()) }, "open group")
        return HDF5Group(rawID: gid, filePath: filePath, objectPath: site.object, parent: self)
    }

    /// Opens the group at `path`, creating it (and intermediates) when missing.
    public func openOrCreateGroup(_ path: String) throws(StorageError) -> HDF5Group {
        if try exists(path) { return try openGroup(path) }
        return try createGroup(path)
    }

    /// Whether a link resolving to an object exists at `path`. Checks each path
    /// component in turn, as `H5Lexists` requires, and refuses any component that
    /// is not a hard link (``requireHardLinks(_:)``).
    public func exists(_ path: String) throws(StorageError) -> Bool {
        HDF5Library.ensure()
        guard try requireHardLinks(path) else { return false }
        let id = try openID()
        let objectExists = try site(path).check(path.withCString { H5Oexists_by_name(id, $0, growkit_H5P_DEFAULT()) }, "look up")
        return objectExists > 0
    }

    /// Whether every component of `path` is present as a hard link (false when
    /// one is absent). Throws `.link` for a soft, external or user-defined link:
    /// growkit follows hard links only (docs/FORMAT.md), so an object is always
    /// in this file, where the checked direct-chunk reads look for its bytes, and
    /// a file can never point growkit at another file (a FIFO, /dev/zero, ...).
    /// Components are checked from the top, so no link is ever traversed before
    /// it has been checked: `H5Lexists` and `H5Lget_info` do not resolve the
    /// last component of their path.
    @discardableResult
    public func requireHardLinks(_ path: String) throws(StorageError) -> Bool {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in components {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(component) : "/" + component
            let absolute = joinPath(objectPath, prefix)
            if owningFile?.hardLinkPaths.contains(absolute) == true { continue }
            let linkExists = try site.check(prefix.withCString { H5Lexists(id, $0, growkit_H5P_DEFAULT()) }, "look up")
            if linkExists == 0 { return false }
            var info = H5L_info_t()
            try site.check(prefix.withCString { H5Lget_info(id, $0, &info, growkit_H5P_DEFAULT()) }, "look up")
            guard info.type == H5L_TYPE_HARD else {
                throw .link(file: filePath, object: absolute, link: linkDescription(prefix, info))
            }
            owningFile?.hardLinkPaths.insert(absolute)
        }
        return true
    }

    /// "a soft link to /x", "an external link to other.h5:/x", "a user-defined link".
    private func linkDescription(_ path: String, _ info: H5L_info_t) -> String {
        let id = rawID  // open: the caller has just used it
        let size = info.u.val_size
        guard size > 0, size < 1 << 16 else { return info.type == H5L_TYPE_SOFT ? "a soft link" : "an external or user-defined link" }
        var buffer = [UInt8](repeating: 0, count: size + 1)
        let status = path.withCString { H5Lget_val(id, $0, &buffer, size, growkit_H5P_DEFAULT()) }
        if status < 0 { _ = H5Eclear2(growkit_H5E_DEFAULT()) }
        switch info.type {
        case H5L_TYPE_SOFT:
            let target = String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
            return status < 0 ? "a soft link" : "a soft link to \(StorageError.oneLine(String(target.prefix(200))))"
        case H5L_TYPE_EXTERNAL:
            var flags: UInt32 = 0
            var fileName: UnsafePointer<CChar>? = nil
            var objectName: UnsafePointer<CChar>? = nil
            guard status >= 0, H5Lunpack_elink_val(&buffer, size, &flags, &fileName, &objectName) >= 0,
                  let fileName, let objectName else {
                _ = H5Eclear2(growkit_H5E_DEFAULT())
                return "an external link"
            }
            let target = String(cString: fileName) + ":" + String(cString: objectName)
            return "an external link to \(StorageError.oneLine(String(target.prefix(300))))"
        default:
            return "a user-defined link"
        }
    }

    /// The kind of object at `path`, or nil when nothing is there.
    public func kind(of path: String) throws(StorageError) -> ObjectKind? {
        guard try exists(path) else { return nil }
        let id = try openID()
        let site = site(path)
        let oid = try site.check(path.withCString { H5Oopen(id, $0, growkit_H5P_DEFAULT()) }, "open")
        defer { H5Oclose(oid) }
        switch H5Iget_type(oid) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// The direct children of this group, in name order, with their kinds.
    public func children() throws(StorageError) -> [ChildInfo] {
        HDF5Library.ensure()
        let id = try openID()
        final class Names { var list: [String] = []; var notHard: String? = nil }
        let names = Names()
        var index: hsize_t = 0
        let status = H5Literate(id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, info, context in
            guard let name, let context else { return 0 }
            let names = Unmanaged<Names>.fromOpaque(context).takeUnretainedValue()
            if let info, info.pointee.type != H5L_TYPE_HARD, names.notHard == nil { names.notHard = String(cString: name) }
            names.list.append(String(cString: name))
            return 0
        }, Unmanaged.passUnretained(names).toOpaque())
        try site.check(status, "list the children of")
        // A link growkit does not follow is refused here, before kind(of:) would resolve it.
        if let name = names.notHard { try requireHardLinks(name) }
        var result: [ChildInfo] = []
        result.reserveCapacity(names.list.count)
        for name in names.list {
            result.append(ChildInfo(name: name, kind: try kind(of: name) ?? .other))
        }
        return result
    }

    /// Opens the existing dataset at `path`.
    public func openDataset(_ path: String) throws(StorageError) -> HDF5Dataset {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        guard try requireHardLinks(path) else { throw .missingObject(file: filePath, object: site.object) }
        // Fast path: open directly; only on failure work out why (missing, or not a dataset).
        let did = path.withCString { H5Dopen2(id, $0, growkit_H5P_DEFAULT()) }
        if did >= 0 {
            return HDF5Dataset(rawID: did, filePath: filePath, objectPath: site.object, parent: self)
        }
        _ = H5Eclear2(growkit_H5E_DEFAULT())
        guard let kind = try kind(of: path) else { throw .missingObject(file: filePath, object: site.object) }
        guard kind == .dataset else {
            throw .wrongType(file: filePath, object: site.object, expected: "a dataset", found: "a \(kind.rawValue)")
        }
        // There, and a dataset, yet it does not open: report HDF5's reason.
        let retry = try site.check(path.withCString { H5Dopen2(id, $0, growkit_H5P_DEFAULT()) }, "open dataset")
        return HDF5Dataset(rawID: retry, filePath: filePath, objectPath: site.object, parent: self)
    }

    /// Metadata of the dataset at `path` (shape, type, filters, chunks), without reading data.
    public func datasetInfo(_ path: String) throws(StorageError) -> DatasetInfo {
        try openDataset(path).info()
    }
}
