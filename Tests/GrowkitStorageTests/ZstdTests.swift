import CHDF5
import Foundation
import Testing
@testable import GrowkitStorage

@Suite("zstd filter")
struct ZstdTests {
    @Test("zstd round-trips, shrinks compressible data, and is recorded as filter 32015 with the level")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("zstd.h5")
        // Compressible: a ramp with few distinct values.
        let values = (0..<(256 * 256)).map { Float($0 % 17) }
        let plainSize: UInt64
        let packedSize: UInt64
        do {
            let file = try HDF5File.create(path)
            plainSize = try file.writeDataset("plain", values, shape: [256, 256]).storageSize()
            packedSize = try file.writeDataset("packed", values, shape: [256, 256], options: DatasetOptions(zstdLevel: 9)).storageSize()
            try file.writeDataset("empty", [Float](), shape: [0], options: DatasetOptions(zstdLevel: 3))
            try file.close()
        }
        #expect(plainSize >= 256 * 256 * 4)
        #expect(packedSize * 10 < plainSize)
        let file = try HDF5File.openReadOnly(path)
        #expect(try file.readDataset("packed", as: Float.self) == values)
        #expect(try file.readDataset("empty", as: Float.self) == [])
        let info = try file.datasetInfo("packed")
        #expect(info.zstdLevel == 9)
        #expect(info.fletcher32)
        // Pipeline order: zstd first, then fletcher32 over the compressed bytes.
        #expect(info.filters.map(\.id) == [32015, H5Z_FILTER_FLETCHER32])
        #expect(info.filters.first?.cdValues == [9])

        // Straight from the creation property list through the C API.
        let packed = try file.openDataset("packed")
        let dcpl = H5Dget_create_plist(packed.rawID)
        defer { H5Pclose(dcpl) }
        var flags: UInt32 = 0
        var count = 4
        var cd = [UInt32](repeating: 0, count: 4)
        var config: UInt32 = 0
        #expect(H5Pget_filter2(dcpl, 0, &flags, &count, &cd, 0, nil, &config) == 32015)
        #expect(count == 1 && cd[0] == 9)
    }

    @Test("a damaged zstd chunk without fletcher32 is an error, not a crash or a huge allocation")
    func damagedFrame() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("zstd-damaged.h5")
        let values = (0..<(64 * 64)).map { Float($0 % 5) }
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("packed", values, shape: [64, 64], options: DatasetOptions(fletcher32: false, zstdLevel: 3))
            try file.close()
        }
        let (address, size) = try chunkLocation(path, "packed", index: 0)
        // Overwrite the frame header's content-size region and the start of the data.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: address + 4)
        handle.write(Data(repeating: 0xFF, count: Int(min(size - 4, 12))))
        try handle.close()
        let file = try HDF5File.openReadOnly(path)
        let error = #expect(throws: StorageError.self) { try file.readDataset("packed", as: Float.self) }
        #expect(error?.description.contains("/packed") == true)
    }

    /// libzstd's sentinels (2^64 - 1: size unknown, 2^64 - 2: not a frame) were
    /// printed as byte counts ("announces 18446744073709551614 bytes").
    @Test("a damaged zstd frame header is described in words, not as a sentinel byte count")
    func sentinelsAreWords() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        for (offset, bytes, words) in [(0, [UInt8](repeating: 0x00, count: 4), "has no valid zstd frame header"),
                                       (4, [0x00], "does not announce its decompressed size")] {
            let path = folder.file("zstd-header-\(offset).h5")
            do {
                let file = try HDF5File.create(path)
                try file.writeDataset("packed", (0..<(64 * 64)).map { Float($0 % 5) }, shape: [64, 64],
                                      options: DatasetOptions(fletcher32: false, zstdLevel: 3))
                try file.close()
            }
            let (address, _) = try chunkLocation(path, "packed", index: 0)
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: address + UInt64(offset))
            handle.write(Data(bytes))
            try handle.close()
            let file = try HDF5File.openReadOnly(path)
            let error = #expect(throws: StorageError.self) { try file.openDataset("packed").readRows(0..<8, as: Float.self) }
            let text = error?.description ?? ""
            #expect(!text.contains("1844674407370955161"), "\(text)")
            #expect(text.contains(words), "\(text)")
        }
    }
}
