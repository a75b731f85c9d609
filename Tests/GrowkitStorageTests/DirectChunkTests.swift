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
        // Chunks that cut rows (as h5py's automatic chunking may): HDF5's own path.
        DatasetOptions(chunkShape: [4, 3], zstdLevel: 2),
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

@Suite("foreign layouts")
struct ForeignLayoutTests {
    @Test("a big-endian float32 dataset reads correctly through HDF5's conversion")
    func bigEndian() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("be.h5")
        let values = (0..<24).map { Float($0) - 11.5 }
        do {
            let file = try HDF5File.create(path)
            var dims: [hsize_t] = [6, 4]
            let space = H5Screate_simple(2, &dims, nil)
            defer { H5Sclose(space) }
            let dcpl = H5Pcreate(growkit_H5P_DATASET_CREATE())
            defer { H5Pclose(dcpl) }
            var chunk: [hsize_t] = [2, 4]
            H5Pset_chunk(dcpl, 2, &chunk)
            H5Pset_fletcher32(dcpl)
            let bigEndian = H5Tcopy(growkit_H5T_IEEE_F32LE())
            defer { H5Tclose(bigEndian) }
            H5Tset_order(bigEndian, H5T_ORDER_BE)
            let dataset = H5Dcreate2(file.rawID, "be", bigEndian, space, growkit_H5P_DEFAULT(), dcpl, growkit_H5P_DEFAULT())
            try #require(dataset >= 0)
            defer { H5Dclose(dataset) }
            #expect(H5Dwrite(dataset, growkit_H5T_NATIVE_FLOAT(), growkit_H5S_ALL(), growkit_H5S_ALL(), growkit_H5P_DEFAULT(), values) >= 0)
        }
        let file = try HDF5File.openReadOnly(path)
        #expect(try file.readDataset("be", as: Float.self) == values)
        #expect(try file.openDataset("be").readRows(1..<4, as: Float.self) == Array(values[4..<16]))
    }
}
