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
    /// component in turn, as `H5Lexists` requires.
    public func exists(_ path: String) throws(StorageError) -> Bool {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in components {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(component) : "/" + component
            let linkExists = try site.check(prefix.withCString { H5Lexists(id, $0, growkit_H5P_DEFAULT()) }, "look up")
            if linkExists == 0 { return false }
            let objectExists = try site.check(prefix.withCString { H5Oexists_by_name(id, $0, growkit_H5P_DEFAULT()) }, "look up")
            if objectExists == 0 { return false }
        }
        return true
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
        final class Names { var list: [String] = [] }
        let names = Names()
        var index: hsize_t = 0
        let status = H5Literate(id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, context in
            guard let name, let context else { return 0 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }, Unmanaged.passUnretained(names).toOpaque())
        try site.check(status, "list the children of")
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
