import CHDF5
import Testing
@testable import GrowkitStorage

@Suite("attributes")
struct AttributeTests {
    @Test("every attribute type round-trips through a file")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("attributes.h5")
        do {
            let file = try HDF5File.create(path)
            try file.setAttribute("format", string: "growkit.training-state")
            try file.setAttribute("unicode", string: "café ∑ 🚀")
            try file.setAttribute("empty", string: "")
            let config = try file.createGroup("config")
            try config.setAttribute("vocab_size", int64: 50257)
            try config.setAttribute("negative", int: -7)
            try config.setAttribute("norm_eps", double: 1e-5)
            try config.setAttribute("tie_embeddings", bool: true)
            try config.setAttribute("mlp_bias", bool: false)
            try config.setAttribute("steps", int64Array: [1, -2, Int64.max])
            try config.setAttribute("losses", doubleArray: [0.5, -1.25, .infinity])
            try config.setAttribute("nothing", doubleArray: [])
            // Replacing an attribute with another type works.
            try config.setAttribute("replaced", int64: 1)
            try config.setAttribute("replaced", string: "now a string")
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        #expect(try file.stringAttribute("format") == "growkit.training-state")
        #expect(try file.stringAttribute("unicode") == "café ∑ 🚀")
        #expect(try file.stringAttribute("empty") == "")
        let config = try file.openGroup("config")
        #expect(try config.int64Attribute("vocab_size") == 50257)
        #expect(try config.int64Attribute("negative") == -7)
        #expect(try config.doubleAttribute("norm_eps") == 1e-5)
        #expect(try config.boolAttribute("tie_embeddings") == true)
        #expect(try config.boolAttribute("mlp_bias") == false)
        #expect(try config.int64ArrayAttribute("steps") == [1, -2, Int64.max])
        #expect(try config.doubleArrayAttribute("losses") == [0.5, -1.25, .infinity])
        #expect(try config.doubleArrayAttribute("nothing") == [])
        #expect(try config.stringAttribute("replaced") == "now a string")
        #expect(try config.attributeNames() == ["losses", "mlp_bias", "negative", "norm_eps", "nothing", "replaced", "steps", "tie_embeddings", "vocab_size"])
        #expect(try config.attributeType("vocab_size").elementType == .int64)
        #expect(try config.attributeType("tie_embeddings").elementType == .uint8)
    }

    @Test("lenient reads: fixed-length strings, narrow integers, float32, h5py's bool enum")
    func lenientReads() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("foreign.h5")
        do {
            let file = try HDF5File.create(path)
            let id = file.rawID
            // Fixed-length, null-padded ASCII string of 8 bytes holding "adamw".
            let stringType = H5Tcopy(growkit_H5T_C_S1())
            H5Tset_size(stringType, 8)
            H5Tset_strpad(stringType, H5T_STR_NULLPAD)
            try writeRaw(id, "fixed", stringType, Array("adamw\0\0\0".utf8))
            // Fixed-length space-padded.
            H5Tset_strpad(stringType, H5T_STR_SPACEPAD)
            try writeRaw(id, "spaced", stringType, Array("cosine  ".utf8))
            H5Tclose(stringType)
            // int32 and uint16 integers, a float32 real, a uint8 2 (not a boolean).
            try writeRaw(id, "int32", growkit_H5T_NATIVE_INT32(), withUnsafeBytes(of: Int32(-123456)) { Array($0) })
            try writeRaw(id, "uint16", growkit_H5T_NATIVE_UINT16(), withUnsafeBytes(of: UInt16(65535)) { Array($0) })
            try writeRaw(id, "float32", growkit_H5T_NATIVE_FLOAT(), withUnsafeBytes(of: Float(0.1)) { Array($0) })
            try writeRaw(id, "two", growkit_H5T_NATIVE_UINT8(), [2])
            try writeRaw(id, "int_one", growkit_H5T_NATIVE_INT32(), withUnsafeBytes(of: Int32(1)) { Array($0) })
            // h5py's bool: enum over int8 with FALSE = 0, TRUE = 1.
            let boolType = H5Tenum_create(growkit_H5T_NATIVE_INT8())
            var falseValue: Int8 = 0, trueValue: Int8 = 1
            H5Tenum_insert(boolType, "FALSE", &falseValue)
            H5Tenum_insert(boolType, "TRUE", &trueValue)
            try writeRaw(id, "h5py_true", boolType, [1])
            try writeRaw(id, "h5py_false", boolType, [0])
            H5Tclose(boolType)
            try file.close()
        }
        let file = try HDF5File.openReadOnly(path)
        #expect(try file.stringAttribute("fixed") == "adamw")
        #expect(try file.stringAttribute("spaced") == "cosine")
        #expect(try file.int64Attribute("int32") == -123456)
        #expect(try file.int64Attribute("uint16") == 65535)
        #expect(try file.doubleAttribute("float32") == Double(Float(0.1)))
        #expect(try file.boolAttribute("h5py_true") == true)
        #expect(try file.boolAttribute("h5py_false") == false)
        #expect(try file.boolAttribute("int_one") == true)
        #expect(throws: StorageError.self) { try file.boolAttribute("two") }
    }

    @Test("missing attribute and wrong type give clear one-line errors")
    func errors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("errors.h5")
        do {
            let file = try HDF5File.create(path)
            let group = try file.createGroup("config")
            try group.setAttribute("family", string: "gpt2")
            try group.setAttribute("hidden_size", int64: 768)
            try file.close()
        }
        let group = try HDF5File.openReadOnly(path).openGroup("config")
        let missing = #expect(throws: StorageError.self) { try group.int64Attribute("num_layers") }
        #expect(missing == .missingAttribute(file: path, object: "/config", attribute: "num_layers"))
        #expect(missing?.description.contains(path) == true)
        #expect(missing?.description.contains("num_layers") == true)
        let wrong = #expect(throws: StorageError.self) { try group.int64Attribute("family") }
        #expect(wrong?.description.contains("variable-length string") == true)
        #expect(wrong?.description.contains("an integer") == true)
        #expect(throws: StorageError.self) { try group.stringAttribute("hidden_size") }
        #expect(throws: StorageError.self) { try group.doubleAttribute("hidden_size") }
        for error in [missing, wrong] {
            #expect(error?.description.contains("\n") == false)
        }
    }
}

/// Writes a scalar attribute of `type` from raw bytes, through the C API.
func writeRaw(_ location: hid_t, _ name: String, _ type: hid_t, _ bytes: [UInt8]) throws {
    let space = H5Screate(H5S_SCALAR)
    defer { H5Sclose(space) }
    let attribute = H5Acreate2(location, name, type, space, growkit_H5P_DEFAULT(), growkit_H5P_DEFAULT())
    try #require(attribute >= 0)
    defer { H5Aclose(attribute) }
    #expect(H5Awrite(attribute, type, bytes) >= 0)
}
