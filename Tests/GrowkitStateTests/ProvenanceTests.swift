import Testing
@testable import GrowkitState

@Suite struct ProvenanceTests {
    @Test func recordsRoundTripThroughTheirStoredJSON() throws {
        let record = ProvenanceRecord(
            operatorName: "grow",
            arguments: ["zero": .number(0), "one": .number(1), "yes": .bool(true), "no": .bool(false),
                        "ratio": .number(1.776), "ops": .array([.string("identity"), .null]), "nested": .object(["n": .number(-3)])],
            source: "small.h5", sourceSHA256: String(repeating: "0f", count: 32),
            verification: .object(["passed": .bool(true), "max_abs_logit_diff": .number(3.1e-8)]),
            toolVersion: "0.1.0", time: "2026-11-23T19:00:00Z")
        let text = record.jsonString()
        #expect(!text.contains("\n"))
        // Numbers 0 and 1 stay numbers, booleans stay booleans.
        #expect(ProvenanceRecord(jsonString: text) == record)
        // Every key is written, absent values as null; keys are the format's snake_case names.
        let bare = ProvenanceRecord(operatorName: "train", toolVersion: "0.1.0", time: "2026-11-23T19:00:00Z").jsonString()
        #expect(bare == #"{"arguments":{},"operator":"train","source":null,"source_sha256":null,"time":"2026-11-23T19:00:00Z","tool_version":"0.1.0","verification":null}"#)
        #expect(ProvenanceRecord(jsonString: #"{"operator":"x"}"#) == nil)
        #expect(ProvenanceRecord(jsonString: "[1, 2]") == nil)
    }
}
