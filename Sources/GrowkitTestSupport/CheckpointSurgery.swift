import CHDF5
import Foundation

/// Edits a copy of a checkpoint in place with the HDF5 C API, to make the
/// broken files of the bad-input tests. Test support only: growkit itself
/// never opens a checkpoint for writing. A library target so that every test
/// target shares one copy; no product ships it.
public struct CheckpointSurgery {
    public struct Failure: Error, CustomStringConvertible { public var description: String }
    let id: hid_t

    /// Opens `path` read-write, runs `edit`, closes it.
    public static func edit(_ path: String, _ edit: (CheckpointSurgery) throws -> Void) throws {
        H5Eset_auto2(growkit_H5E_DEFAULT(), nil, nil)  // no HDF5 error stack on stderr
        let id = H5Fopen(path, growkit_H5F_ACC_RDWR(), growkit_H5P_DEFAULT())
        guard id >= 0 else { throw Failure(description: "cannot open \(path) read-write") }
        defer { H5Fclose(id) }
        try edit(CheckpointSurgery(id: id))
    }

    private func check(_ status: some BinaryInteger, _ what: String) throws {
        if status < 0 { throw Failure(description: "HDF5 failed to \(what)") }
    }

    /// Unlinks the group or dataset at `path`.
    public func delete(_ path: String) throws {
        try check(H5Ldelete(id, path, growkit_H5P_DEFAULT()), "delete \(path)")
    }

    public func deleteAttribute(_ name: String, of object: String) throws {
        try check(H5Adelete_by_name(id, object, name, growkit_H5P_DEFAULT()), "delete attribute \(name) of \(object)")
    }

    /// Replaces (or creates) a scalar int64 attribute.
    public func setInt(_ name: String, of object: String, _ value: Int64) throws {
        try? deleteAttribute(name, of: object)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attribute = H5Acreate_by_name(id, object, name, growkit_H5T_STD_I64LE(), space, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT())
        try check(attribute, "create attribute \(name)")
        defer { H5Aclose(attribute) }
        var v = value
        try check(H5Awrite(attribute, growkit_H5T_NATIVE_INT64(), &v), "write attribute \(name)")
    }

    /// Replaces (or creates) a scalar fixed-length string attribute.
    public func setString(_ name: String, of object: String, _ value: String) throws {
        try? deleteAttribute(name, of: object)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let type = H5Tcopy(growkit_H5T_C_S1())
        defer { H5Tclose(type) }
        H5Tset_size(type, max(1, value.utf8.count))
        let attribute = H5Acreate_by_name(id, object, name, type, space, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT())
        try check(attribute, "create attribute \(name)")
        defer { H5Aclose(attribute) }
        var bytes = Array(value.utf8)
        try check(H5Awrite(attribute, type, &bytes), "write attribute \(name)")
    }

    /// Replaces the dataset at `path` by a float32 dataset of `shape` (zeros).
    public func replaceWithFloat32(_ path: String, shape: [Int]) throws {
        try delete(path)
        try addFloat32(path, shape: shape)
    }

    /// Replaces the object at `path` by a soft link to `target` (which may not exist).
    public func replaceWithSoftLink(_ path: String, to target: String) throws {
        try delete(path)
        try check(H5Lcreate_soft(target, id, path, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT()), "link \(path)")
    }

    /// Replaces the object at `path` by an external link to `object` in `file` (which may not exist).
    public func replaceWithExternalLink(_ path: String, file: String, object: String) throws {
        try delete(path)
        try check(H5Lcreate_external(file, object, id, path, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT()), "link \(path)")
    }

    /// Adds a float32 dataset of `shape` (zeros) at `path`, making missing groups.
    public func addFloat32(_ path: String, shape: [Int]) throws {
        try addEmpty(path, type: growkit_H5T_IEEE_F32LE(), shape: shape)
    }

    /// Replaces the dataset at `path` by a contiguous float32 dataset of `shape`
    /// whose zeros are written (stored bytes, no filter, so no checksum).
    public func replaceWithStoredFloat32(_ path: String, shape: [Int]) throws {
        try replaceWithFloat32(path, shape: shape)
        let dataset = H5Dopen2(id, path, growkit_H5P_DEFAULT())
        try check(dataset, "open \(path)")
        defer { H5Dclose(dataset) }
        let zeros = [Float](repeating: 0, count: shape.reduce(1, *))
        try check(H5Dwrite(dataset, growkit_H5T_NATIVE_FLOAT(), growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), zeros),
                  "write \(path)")
    }

    /// Replaces the dataset at `path` by a never-written (sparse) dataset of the same
    /// type and `shape`: reading it yields fill values, storing it costs no space.
    public func replaceWithEmpty(_ path: String, shape: [Int]) throws {
        let dataset = H5Dopen2(id, path, growkit_H5P_DEFAULT())
        try check(dataset, "open \(path)")
        let type = H5Dget_type(dataset)
        H5Dclose(dataset)
        defer { H5Tclose(type) }
        try delete(path)
        try addEmpty(path, type: type, shape: shape)
    }

    /// Adds a never-written contiguous dataset of `type` and `shape` at `path`, making missing groups.
    public func addEmpty(_ path: String, type: hid_t, shape: [Int]) throws {
        let lcpl = H5Pcreate(growkit_H5P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(id, path, type, space, lcpl, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT())
        try check(dataset, "create \(path)")
        H5Dclose(dataset)
    }
}

/// Byte offset and stored size of the first chunk of dataset `path` in the file
/// (`H5Dget_chunk_info`, HDF5 1.10.5 and later).
public func firstChunkOffset(_ file: String, dataset path: String) throws -> (offset: Int, size: Int) {
    H5Eset_auto2(growkit_H5E_DEFAULT(), nil, nil)
    let id = H5Fopen(file, growkit_H5F_ACC_RDONLY(), growkit_H5P_DEFAULT())
    guard id >= 0 else { throw CheckpointSurgery.Failure(description: "cannot open \(file)") }
    defer { H5Fclose(id) }
    let dataset = H5Dopen2(id, path, growkit_H5P_DEFAULT())
    guard dataset >= 0 else { throw CheckpointSurgery.Failure(description: "no dataset \(path)") }
    defer { H5Dclose(dataset) }
    var offset = [hsize_t](repeating: 0, count: 8)
    var filterMask: UInt32 = 0
    var address: haddr_t = 0
    var size: hsize_t = 0
    let space = H5Dget_space(dataset)
    defer { H5Sclose(space) }
    guard H5Dget_chunk_info(dataset, space, 0, &offset, &filterMask, &address, &size) >= 0 else {
        throw CheckpointSurgery.Failure(description: "no chunk info for \(path)")
    }
    return (Int(address), Int(size))
}

/// Flips one byte in the middle of the first chunk of `dataset`: the chunk's
/// fletcher32 no longer matches, and nothing else in the file changes.
public func corruptFirstChunk(_ file: String, dataset: String) throws {
    let (offset, size) = try firstChunkOffset(file, dataset: dataset)
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
    defer { try? handle.close() }
    let position = UInt64(offset + size / 2)
    try handle.seek(toOffset: position)
    guard let byte = try handle.read(upToCount: 1)?.first else { throw CheckpointSurgery.Failure(description: "short read") }
    try handle.seek(toOffset: position)
    try handle.write(contentsOf: Data([byte ^ 0xFF]))
}
