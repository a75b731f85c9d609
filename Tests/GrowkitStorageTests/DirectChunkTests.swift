import CHDF5
import Testing
@testable import GrowkitStorage

/// growkit reads and writes chunk bytes itself (HDF5Dataset+DirectChunks.swift);
/// HDF5's own pipeline (H5Dread / H5Dwrite through the C API) is the reference.
@Suite("direct chunk I/O")
struct DirectChunkTests {
    static let pipelines: [DatasetOptions] = [
        DatasetOptions(chunkShape: [3, 7]),
        DatasetOptions(chunkShape: [3, 7], zstdLevel: 3),
        DatasetOptions(chunkShape: [3, 7], fletcher32: false, zstdLevel: 1),
        DatasetOptions(chunkShape: [3, 7], fletcher32: false),
    ]

    @Test("chunks written directly read back through HDF5's pipeline, and the reverse", arguments: pipelines)
    func agreesWithHDF5(options: DatasetOptions) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("direct.h5")
        let rows = 10, columns = 7  // chunks of 3 rows: 4 chunks, the last one an edge chunk of 1 row
        let values = (0..<(rows * columns)).map { Float($0) * 0.5 - 7 }
        do {
            let file = try HDF5File.create(path)
            let ours = try file.createDataset("ours", elementType: .float32, shape: [rows, columns], options: options)
            // Slabs: one whole chunk, a partial one, then partial + whole + edge.
            try ours.writeRows(startingAt: 0, Array(values[0..<(3 * columns)]))
            try ours.writeRows(startingAt: 3, Array(values[(3 * columns)..<(5 * columns)]))
            try ours.writeRows(startingAt: 5, Array(values[(5 * columns)...]))
            // The reference dataset is written by HDF5's own pipeline.
            let theirs = try file.createDataset("theirs", elementType: .float32, shape: [rows, columns], options: options)
            #expect(H5Dwrite(theirs.rawID, growkit_H5T_NATIVE_FLOAT(), growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), values) >= 0)
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        let ours = try file.openDataset("ours")
        var viaHDF5 = [Float](repeating: .nan, count: rows * columns)
        #expect(H5Dread(ours.rawID, growkit_H5T_NATIVE_FLOAT(), growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), &viaHDF5) >= 0)
        #expect(viaHDF5 == values)
        let theirs = try file.openDataset("theirs")
        #expect(try theirs.read(Float.self) == values)
        for range in [0..<10, 1..<8, 3..<6, 9..<10, 2..<3] {
            let expected = Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)])
            #expect(try theirs.readRows(range, as: Float.self) == expected, "rows \(range)")
            #expect(try ours.readRows(range, as: Float.self) == expected, "rows \(range)")
        }
        // Same stored size as HDF5's pipeline gives for the same data.
        #expect(try ours.storageSize() == theirs.storageSize())
    }
}
