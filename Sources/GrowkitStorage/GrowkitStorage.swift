import CHDF5
import CZstd

/// The HDF5 library version this build links (for provenance and `--version`).
public func hdf5LibraryVersion() -> String {
    var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
    H5get_libversion(&major, &minor, &release)
    return "\(major).\(minor).\(release)"
}
