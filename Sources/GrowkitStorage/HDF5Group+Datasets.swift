import CHDF5

extension HDF5Group {
    /// Creates a dataset of `elementType` and `shape` at `path` (making missing
    /// intermediate groups), without writing data.
    ///
    /// Layout: rank 0 is contiguous with no filters (HDF5 cannot chunk a scalar).
    /// Otherwise chunked (`options.chunkShape`, or about 1 MiB along the first
    /// axis), pipeline zstd (when `options.zstdLevel` is set) then fletcher32
    /// (when `options.fletcher32`), so the checksum covers the stored,
    /// compressed bytes, as h5py orders them. Variable-length strings cannot be
    /// filtered in HDF5 1.10: they are chunked only. Zero-length dimensions are made
    /// extendible so that they can be chunked.
    @discardableResult
    public func createDataset(
        _ path: String, elementType: ElementType, shape: [Int], options: DatasetOptions = .default
    ) throws(StorageError) -> HDF5Dataset {
        HDF5Library.ensure()
        let id = try openID()
        let site = site(path)
        if shape.contains(where: { $0 < 0 }) {
            throw .invalidArgument(file: filePath, object: site.object, reason: "negative dimension in shape \(shape)")
        }
        _ = try checkedCount(shape, site)
        if try exists(path) { throw .alreadyExists(file: filePath, object: site.object) }

        // Datatype in the file.
        let fileType: hid_t
        var ownsFileType = false
        if elementType == .variableString || (elementType.typeClass == .string && elementType.isVariableLength) {
            fileType = try makeVariableStringType(site)
            ownsFileType = true
        } else if let types = elementType.hdf5Types {
            fileType = types.file
        } else {
            throw .invalidArgument(file: filePath, object: site.object, reason: "cannot create a dataset of \(elementType); use float32, float64, uint8, uint16, int64 or variable-length strings")
        }
        defer { if ownsFileType { H5Tclose(fileType) } }

        // Dataspace; zero-length dimensions extendible so they can be chunked.
        let space: hid_t
        if shape.isEmpty {
            space = try site.check(H5Screate(H5S_SCALAR), "create the dataspace of")
        } else {
            let dims = shape.map { hsize_t($0) }
            let maxDims = shape.map { $0 == 0 ? growkit_H5S_UNLIMITED() : hsize_t($0) }
            space = try site.check(H5Screate_simple(Int32(shape.count), dims, maxDims), "create the dataspace of")
        }
        defer { H5Sclose(space) }

        // Creation properties: chunks, zstd, fletcher32.
        let dcpl = try site.check(H5Pcreate(growkit_H5P_DATASET_CREATE()), "create the properties of")
        defer { H5Pclose(dcpl) }
        // No modification times in object headers: the same content gives the same bytes.
        try site.check(H5Pset_obj_track_times(dcpl, false), "set up")
        if !shape.isEmpty {
            let elementSize = elementType.typeClass == .string ? 16 : elementType.size
            let chunk = options.chunkShape ?? DatasetOptions.chunkShape(for: shape, elementSize: elementSize)
            guard chunk.count == shape.count,
                zip(chunk, shape).allSatisfy({ c, d in c > 0 && (d == 0 || c <= d) })
            else {
                throw .invalidArgument(file: filePath, object: site.object, reason: "chunk shape \(chunk) does not fit dataset shape \(shape); give one positive extent per dimension, at most that dimension")
            }
            try site.check(H5Pset_chunk(dcpl, Int32(chunk.count), chunk.map { hsize_t($0) }), "set the chunks of")
            // HDF5 1.10 refuses filters on variable-length types ("not suitable for
            // filters"): string datasets are chunked but unfiltered, as with h5py.
            let filterable = elementType.typeClass != .string
            if filterable, let level = options.zstdLevel {
                var cd: [UInt32] = [UInt32(bitPattern: level)]
                try site.check(H5Pset_filter(dcpl, H5Z_filter_t(ZstdFilter.id), UInt32(H5Z_FLAG_MANDATORY), 1, &cd), "add the zstd filter to")
            }
            if filterable && options.fletcher32 {
                try site.check(H5Pset_fletcher32(dcpl), "add the fletcher32 checksum to")
            }
            // Every element is written by the caller: skip writing fill values first
            // (HDF5 requires fill values for variable-length types).
            if filterable { try site.check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "set the fill time of") }
        }

        let lcpl = try site.check(H5Pcreate(growkit_H5P_LINK_CREATE()), "create a link property list for")
        defer { H5Pclose(lcpl) }
        try site.check(H5Pset_create_intermediate_group(lcpl, 1), "set up")

        let did = try site.check(
            path.withCString { H5Dcreate2(id, $0, fileType, space, lcpl, dcpl, growkit_H5P_DEFAULT()) }, "create dataset")
        return HDF5Dataset(rawID: did, filePath: filePath, objectPath: site.object, parent: self)
    }

    /// Creates a dataset of `T` with `shape` and writes `values` (row-major) into it.
    @discardableResult
    public func writeDataset<T: HDF5Numeric>(
        _ path: String, _ values: [T], shape: [Int], options: DatasetOptions = .default
    ) throws(StorageError) -> HDF5Dataset {
        let dataset = try createDataset(path, elementType: T.elementType, shape: shape, options: options)
        try dataset.write(values)
        return dataset
    }

    /// Creates a 1-D variable-length UTF-8 string dataset and writes `values`.
    @discardableResult
    public func writeStringDataset(
        _ path: String, _ values: [String], options: DatasetOptions = .default
    ) throws(StorageError) -> HDF5Dataset {
        let dataset = try createDataset(path, elementType: .variableString, shape: [values.count], options: options)
        try dataset.writeStrings(values)
        return dataset
    }

    /// Reads the whole dataset at `path` as `T`.
    public func readDataset<T: HDF5Numeric>(_ path: String, as type: T.Type = T.self) throws(StorageError) -> [T] {
        try openDataset(path).read(T.self)
    }

    /// Reads the 1-D string dataset at `path`.
    public func readStringDataset(_ path: String) throws(StorageError) -> [String] {
        try openDataset(path).readStrings()
    }
}

/// A variable-length UTF-8 string datatype (caller closes it).
func makeVariableStringType(_ site: Site) throws(StorageError) -> hid_t {
    let type = try site.check(H5Tcopy(growkit_H5T_C_S1()), "create a string type for")
    if H5Tset_size(type, growkit_H5T_VARIABLE()) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 {
        H5Tclose(type)
        throw site.error("create a string type for")
    }
    return type
}

/// Product of `shape`, or `.tooLarge` when it overflows.
func checkedCount(_ shape: [Int], _ site: Site) throws(StorageError) -> Int {
    var count = 1
    for d in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        if overflow || d < 0 {
            throw .tooLarge(file: site.file, object: site.object, reason: "shape \(shape) has more elements than this machine can address")
        }
        count = product
    }
    return count
}
