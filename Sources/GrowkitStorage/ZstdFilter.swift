import CHDF5
import CZstd

/// The zstd HDF5 filter, registered in-process.
///
/// Convention (hdf5plugin's, and the HDF Group's registered filter 32015):
/// `cd_values[0]` is the compression level; each chunk is stored as one zstd
/// frame whose header carries the decompressed size. Files written here are
/// read by h5py after `import hdf5plugin`, and theirs by us.
///
/// Memory: HDF5's filter pipeline owns `*buf`. A filter that replaces the buffer
/// must allocate the new one with `H5allocate_memory` and release the old one
/// with `H5free_memory` (the HDF5 1.10 filter documentation asks for these so
/// that the library's allocator, which may be a debug allocator, is the one used).
public enum ZstdFilter {
    /// HDF5 filter id registered for zstd (hdf5plugin's `Zstd`).
    public static let id: Int32 = 32015
    /// Default level when a dataset's filter has no `cd_values` (zstd's default).
    public static let defaultLevel: Int32 = 3
    /// Largest decompressed chunk accepted: a frame header announcing more is
    /// treated as damage rather than allocated. HDF5 chunks cannot exceed 4 GiB;
    /// our writers use about 1 MiB; 1 GiB leaves room for other writers.
    public static let maxDecompressedChunkBytes: UInt64 = 1 << 30

    static func register() {
        let name = strdupForever("zstd (growkit, hdf5plugin-compatible)")
        var filterClass = H5Z_class2_t(
            version: Int32(H5Z_CLASS_T_VERS),
            id: H5Z_filter_t(id),
            encoder_present: 1,
            decoder_present: 1,
            name: name,
            can_apply: nil,
            set_local: nil,
            filter: zstdFilterCallback)
        // H5Zregister copies the class; the name must outlive it (it is never freed).
        _ = H5Zregister(&filterClass)
    }

    private static func strdupForever(_ s: String) -> UnsafePointer<CChar> {
        let utf8 = Array(s.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        return UnsafePointer(p)
    }
}

/// `H5Z_func_t`: returns the number of valid bytes in `*buf` after filtering,
/// or 0 on failure (HDF5 then fails the read or write of that chunk).
private let zstdFilterCallback: H5Z_func_t = { flags, cdCount, cdValues, nbytes, bufSize, buf in
    guard let buf, let bufSize, let input = buf.pointee else { return 0 }
    if flags & UInt32(H5Z_FLAG_REVERSE) != 0 {
        // Decompress: size the output from the frame header, refuse what is unknown or absurd.
        let contentSize = ZSTD_getFrameContentSize(input, nbytes)
        // ZSTD_CONTENTSIZE_UNKNOWN = 0ULL - 1, ZSTD_CONTENTSIZE_ERROR = 0ULL - 2.
        if contentSize >= UInt64.max - 1 || contentSize > ZstdFilter.maxDecompressedChunkBytes { return 0 }
        let outSize = Int(contentSize)
        guard let output = H5allocate_memory(max(outSize, 1), false) else { return 0 }
        let written = ZSTD_decompress(output, outSize, input, nbytes)
        if ZSTD_isError(written) != 0 || written != outSize {
            H5free_memory(output)
            return 0
        }
        H5free_memory(input)
        buf.pointee = output
        bufSize.pointee = max(outSize, 1)
        return outSize
    } else {
        var level = ZstdFilter.defaultLevel
        if cdCount > 0, let cdValues { level = Int32(bitPattern: cdValues[0]) }
        level = min(max(level, ZSTD_minCLevel()), ZSTD_maxCLevel())
        let bound = ZSTD_compressBound(nbytes)
        guard ZSTD_isError(bound) == 0, let output = H5allocate_memory(bound, false) else { return 0 }
        let written = ZSTD_compress(output, bound, input, nbytes, level)
        if ZSTD_isError(written) != 0 {
            H5free_memory(output)
            return 0
        }
        H5free_memory(input)
        buf.pointee = output
        bufSize.pointee = bound
        return written
    }
}
