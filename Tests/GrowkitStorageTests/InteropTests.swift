import Foundation
import Testing
@testable import GrowkitStorage

@Suite("h5py interop")
struct InteropTests {
    @Test("a file written by h5py + hdf5plugin (zstd 32015, fletcher32, bool enum) reads back exactly")
    func readsHdf5pluginFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("theirs.h5")
        try H5pyFixture.bytes.write(to: URL(fileURLWithPath: path))
        let file = try HDF5File.openReadOnly(path)
        let w = try file.openDataset("params/w")
        let info = try w.info()
        #expect(info.shape == [40, 30])
        #expect(info.chunkShape == [10, 30])
        #expect(info.zstdLevel == 7)
        #expect(info.fletcher32)
        // Exact: arange * 0.5 is representable in float32.
        #expect(try w.read(Float.self) == (0..<1200).map { Float($0) * 0.5 })
        #expect(try w.int64Attribute("step") == 12)
        #expect(try w.boolAttribute("apply_weight_decay") == true)
        #expect(try file.readDataset("bf16", as: UInt16.self) == (0..<12).map { UInt16($0) })
        #expect(try file.datasetInfo("bf16").zstdLevel == 3)
        #expect(try file.readStringDataset("provenance/records") == ["{\"a\": 1}", "héllo"])
        #expect(try file.stringAttribute("format") == "growkit.training-state")
        #expect(try file.stringAttribute("fixed") == "adamw")
        #expect(try file.doubleAttribute("lr") == 0.25)
    }
}
