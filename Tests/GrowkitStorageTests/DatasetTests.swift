import CHDF5
import Testing
@testable import GrowkitStorage

@Suite("datasets")
struct DatasetTests {
    @Test("every element type round-trips, with metadata readable without the data")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("datasets.h5")
        let floats: [Float] = (0..<(5 * 3 * 2)).map { Float($0) * 0.25 - 3 }
        let halves: [UInt16] = [0, 1, 0x3F80, 0xFFFF]
        let bytes: [UInt8] = Array(0...255)
        let longs: [Int64] = [Int64.min, -1, 0, 1, Int64.max]
        let doubles: [Double] = [.pi, -0.0, 1e300, .leastNonzeroMagnitude]
        let strings = ["{\"operator\": \"stack\"}", "", "ünïcödé"]
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("params/model/w", floats, shape: [5, 3, 2])
            try file.writeDataset("bf16", halves, shape: [2, 2], options: DatasetOptions(fletcher32: false))
            try file.writeDataset("trainer/rng_state", bytes, shape: [256])
            try file.writeDataset("history/step", longs, shape: [5])
            try file.writeDataset("history/loss", doubles, shape: [4])
            try file.writeDataset("history/empty", [Double](), shape: [0])
            try file.writeDataset("scalar", [Float(42)], shape: [])
            try file.writeStringDataset("provenance/records", strings)
            try file.writeStringDataset("provenance/none", [])
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        #expect(try file.readDataset("params/model/w", as: Float.self) == floats)
        #expect(try file.readDataset("bf16", as: UInt16.self) == halves)
        #expect(try file.readDataset("trainer/rng_state", as: UInt8.self) == bytes)
        #expect(try file.readDataset("history/step", as: Int64.self) == longs)
        #expect(try file.readDataset("history/loss", as: Double.self).map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(try file.readDataset("history/empty", as: Double.self) == [])
        #expect(try file.readDataset("scalar", as: Float.self) == [42])
        #expect(try file.readStringDataset("provenance/records") == strings)
        #expect(try file.readStringDataset("provenance/none") == [])

        let info = try file.datasetInfo("params/model/w")
        #expect(info.shape == [5, 3, 2])
        #expect(info.elementType == .float32)
        #expect(info.elementCount == 30)
        #expect(info.chunkShape == [5, 3, 2])
        #expect(info.fletcher32)
        #expect(info.zstdLevel == nil)
        #expect(try file.datasetInfo("bf16").fletcher32 == false)
        #expect(try file.datasetInfo("bf16").elementType == .uint16)
        #expect(try file.datasetInfo("history/empty").shape == [0])
        #expect(try file.datasetInfo("scalar").shape == [])
        #expect(try file.datasetInfo("scalar").chunkShape == nil)
        #expect(try file.datasetInfo("provenance/records").elementType == .variableString)

        #expect(try file.children() == [
            ChildInfo(name: "bf16", kind: .dataset), ChildInfo(name: "history", kind: .group),
            ChildInfo(name: "params", kind: .group), ChildInfo(name: "provenance", kind: .group),
            ChildInfo(name: "scalar", kind: .dataset), ChildInfo(name: "trainer", kind: .group),
        ])
        #expect(try file.exists("params/model/w"))
        #expect(try file.exists("/params/model"))
        #expect(try !file.exists("params/nothing/w"))
        #expect(try file.kind(of: "history") == .group)
        #expect(try file.kind(of: "history/loss") == .dataset)
        #expect(try file.kind(of: "nowhere") == nil)
    }

    @Test("row ranges read and write hyperslabs along the first axis")
    func rows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("rows.h5")
        let rows = 10, columns = 7
        let all: [Float] = (0..<(rows * columns)).map { Float($0) }
        do {
            let file = try HDF5File.create(path)
            // Chunks of 3 rows, so slabs straddle chunk boundaries.
            let dataset = try file.createDataset("t", elementType: .float32, shape: [rows, columns], options: DatasetOptions(chunkShape: [3, columns]))
            try dataset.writeRows(startingAt: 0, Array(all[0..<(4 * columns)]))
            try dataset.writeRows(startingAt: 4, Array(all[(4 * columns)...]))
            let bits = try file.createDataset("b", elementType: .uint16, shape: [rows, columns])
            try bits.writeRows(startingAt: 0, all.map { BFloat16.bits(from: $0) })
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        let dataset = try file.openDataset("t")
        #expect(try dataset.read(Float.self) == all)
        #expect(try dataset.readRows(2..<5, as: Float.self) == Array(all[(2 * columns)..<(5 * columns)]))
        #expect(try dataset.readRows(9..<10, as: Float.self) == Array(all[(9 * columns)...]))
        #expect(try dataset.readRows(3..<3, as: Float.self) == [])
        #expect(try BFloat16.floats(fromBits: file.openDataset("b").readRows(0..<2, as: UInt16.self)) == Array(all[0..<(2 * columns)]))
        let outside = #expect(throws: StorageError.self) { try dataset.readRows(8..<11, as: Float.self) }
        #expect(outside?.description.contains("0..<10") == true)
        #expect(throws: StorageError.self) { try dataset.readRows(0..<1, as: UInt16.self) }
    }

    @Test("chunk helper picks about 1 MiB of whole rows, splitting the first axis evenly")
    func chunkHelper() {
        // wte [50257, 768] float32: a row is 3072 bytes; 1 MiB holds 341 rows, so
        // ceil(50257 / 341) = 148 chunks of ceil(50257 / 148) = 340 rows (1,044,480 bytes).
        #expect(DatasetOptions.chunkShape(for: [50257, 768], elementSize: 4) == [340, 768])
        // [768, 768]: 2.25 MiB -> 3 chunks of 256 rows (not 341 + 341 + 86 padded to 341).
        #expect(DatasetOptions.chunkShape(for: [768, 768], elementSize: 4) == [256, 768])
        // [768, 3072]: rows of 12 KiB, 85 per MiB -> 10 chunks of 77 rows.
        #expect(DatasetOptions.chunkShape(for: [768, 3072], elementSize: 4) == [77, 3072])
        // A [768] vector fits in one chunk.
        #expect(DatasetOptions.chunkShape(for: [768], elementSize: 4) == [768])
        // Rows above 1 MiB: one row per chunk.
        #expect(DatasetOptions.chunkShape(for: [4, 1 << 19], elementSize: 4) == [1, 1 << 19])
        #expect(DatasetOptions.chunkShape(for: [0], elementSize: 8) == [1])
        #expect(DatasetOptions.chunkShape(for: [], elementSize: 4) == [])
        // Never more than ~1 MiB per chunk, never more chunks than needed, over many shapes.
        for rows in [1, 2, 3, 100, 341, 342, 1000, 4097, 50257] {
            for columns in [1, 7, 768, 3072, 70_000] {
                let chunk = DatasetOptions.chunkShape(for: [rows, columns], elementSize: 4)
                let rowBytes = columns * 4
                #expect(chunk[1] == columns)
                #expect(chunk[0] >= 1 && chunk[0] <= rows)
                #expect(chunk[0] == 1 || chunk[0] * rowBytes <= 1 << 20)
                let chunks = (rows + chunk[0] - 1) / chunk[0]
                let minimumChunks = (rows * rowBytes + (1 << 20) - 1) / (1 << 20)
                #expect(chunks <= max(minimumChunks, (rows + max(1, (1 << 20) / rowBytes) - 1) / max(1, (1 << 20) / rowBytes)))
            }
        }
    }

    @Test("wrong type, wrong count, duplicates and missing datasets are clear errors")
    func errors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("errors.h5")
        let file = try HDF5File.create(path)
        try file.writeDataset("params/w", [Float](repeating: 1, count: 6), shape: [2, 3])
        let wrongType = #expect(throws: StorageError.self) { try file.readDataset("params/w", as: Double.self) }
        #expect(wrongType == .wrongType(file: path, object: "/params/w", expected: "float64", found: "float32"))
        #expect(throws: StorageError.self) { try file.openDataset("params/w").write([Float](repeating: 0, count: 5)) }
        #expect(throws: StorageError.alreadyExists(file: path, object: "/params/w")) {
            try file.writeDataset("params/w", [Float](repeating: 1, count: 6), shape: [2, 3])
        }
        let missing = #expect(throws: StorageError.self) { try file.openDataset("params/missing") }
        #expect(missing == .missingObject(file: path, object: "/params/missing"))
        #expect(throws: StorageError.self) { try file.openDataset("params") }
        #expect(throws: StorageError.self) { try file.openGroup("params/w") }
        #expect(throws: StorageError.self) {
            try file.createDataset("bad", elementType: .float32, shape: [4], options: DatasetOptions(chunkShape: [5]))
        }
        try file.close()
        // Objects of a closed file report it instead of crashing.
        #expect(throws: StorageError.self) { try file.openDataset("params/w") }
    }
}

@Suite("bfloat16")
struct BFloat16Tests {
    @Test("float32 to bfloat16 rounds to nearest even; NaN and infinities survive")
    func rounding() {
        // 1 + 2^-8 lies exactly halfway between bf16 1.0 (0x3F80) and 1 + 2^-7 (0x3F81): ties to even -> 0x3F80.
        #expect(BFloat16.bits(from: 1 + 0x1p-8) == 0x3F80)
        // 1 + 3 * 2^-8 is halfway between 0x3F81 and 0x3F82: ties to even -> 0x3F82.
        #expect(BFloat16.bits(from: 1 + 3 * 0x1p-8) == 0x3F82)
        // Just above halfway rounds up.
        #expect(BFloat16.bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BFloat16.bits(from: -2) == 0xC000)
        #expect(BFloat16.bits(from: .infinity) == 0x7F80)
        #expect(BFloat16.bits(from: -.infinity) == 0xFF80)
        #expect(BFloat16.float(fromBits: BFloat16.bits(from: .nan)).isNaN)
        // A NaN whose payload sits only in the low 16 bits must not become infinity.
        #expect(BFloat16.float(fromBits: BFloat16.bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
        // Largest float32 rounds past the largest finite bf16: infinity, as IEEE rounding does.
        #expect(BFloat16.bits(from: .greatestFiniteMagnitude) == 0x7F80)
        // Every bf16 converts to float32 and back unchanged (exhaustive over non-NaN patterns).
        for bits in UInt16.min...UInt16.max {
            let value = BFloat16.float(fromBits: bits)
            if value.isNaN { continue }
            #expect(BFloat16.bits(from: value) == bits)
        }
    }
}

@Suite("dataset guards")
struct DatasetGuardTests {
    @Test("bfloat16 datasets widen to float32; plain uint16 is not taken for bfloat16")
    func bfloat16Dataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.file("bf16.h5"))
        let values: [Float] = [1, -2.5, 0.15625, 1e-3]
        let bits = BFloat16.bits(from: values)
        try file.writeDataset("w", bits, shape: [2, 2]).setAttribute("dtype", string: "bfloat16")
        try file.writeDataset("f", values, shape: [4])
        try file.writeDataset("u", bits, shape: [4])
        #expect(try file.openDataset("w").readFloat32OrBFloat16() == BFloat16.floats(fromBits: bits))
        #expect(try file.openDataset("f").readFloat32OrBFloat16() == values)
        #expect(throws: StorageError.self) { try file.openDataset("u").readFloat32OrBFloat16() }
    }

    @Test("a dataset larger than the machine's memory is refused before allocating")
    func hugeDataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("huge.h5")
        let file = try HDF5File.create(path)
        // 2^40 float32 elements (4 TiB), declared but never written: chunks are allocated lazily.
        try file.createDataset("huge", elementType: .float32, shape: [1 << 20, 1 << 20], options: DatasetOptions(chunkShape: [1, 1 << 18]))
        let error = #expect(throws: StorageError.self) { try file.readDataset("huge", as: Float.self) }
        guard case .tooLarge = error else {
            Issue.record("expected .tooLarge, got \(String(describing: error))")
            return
        }
        #expect(error?.description.contains("read it in row ranges") == true)
        // A row range of it still reads (fill values).
        #expect(try file.openDataset("huge").readRows(5..<6, as: Float.self).count == 1 << 20)
    }

    @Test("writing into a folder that does not exist is a clear error")
    func missingFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let destination = folder.file("no/such/folder/out.h5")
        let error = #expect(throws: StorageError.self) { _ = try AtomicHDF5Writer(destination: destination) }
        #expect(error?.description.contains("no/such/folder") == true)
        #expect(error?.description.contains("\n") == false)
    }
}
