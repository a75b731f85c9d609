import Foundation
import GrowkitState
import Testing
@testable import GrowkitVerify

@Suite struct GrowthClaimTests {
    static func record(_ name: String, growth: GrowthRecord? = nil) -> ProvenanceRecord {
        ProvenanceRecord(operatorName: name, toolVersion: "test", growth: growth, time: "2026-01-01T00:00:00Z")
    }

    @Test func onlyTheLastRecordCounts() {
        let exact = GrownStates.copyRecord(exact: true)
        #expect(GrowthClaim(provenance: [Self.record("make-fixture"), Self.record("grow", growth: exact)]).exact)
        #expect(!GrowthClaim(provenance: [Self.record("grow", growth: GrownStates.copyRecord(exact: false))]).exact)
        // Trained after growth: no longer the grown function, whatever the growth claimed.
        let trained = GrowthClaim(provenance: [Self.record("grow", growth: exact), Self.record("train")])
        #expect(!trained.exact && !trained.showsGrowth)
        #expect(trained.missingGrowth == "its provenance does not show a growth (last record: train)")
        #expect(GrowthClaim(provenance: []).missingGrowth == "its provenance does not show a growth (no provenance records)")
        #expect(GrowthClaim(provenance: [Self.record("grow", growth: exact)]).missingGrowth == nil)
    }

    @Test func sizesDisagreeingWithTheConfigsAreNamed() {
        let small = RandomState.tinyConfig(.llama)
        var grown = small
        grown.numLayers = 3
        let growth = GrowthRecord(exact: true, operators: ["depth=identity"], sizes: ["num_layers": [2, 3], "hidden_size": [32, 32]],
                                  layerSources: [0, 1, nil], newTensors: [], partlyNewTensors: [], copiedTensors: [])
        let claim = GrowthClaim(provenance: [Self.record("grow", growth: growth)])
        #expect(claim.sizeMismatches(source: small, grown: grown).isEmpty)
        var other = small
        other.numLayers = 4
        #expect(claim.sizeMismatches(source: other, grown: grown) == ["num_layers 2 -> 3 in the growth record but 4 -> 3 here"])
    }
}

@Suite struct ResultEncodingTests {
    /// The result survives a provenance record: stored JSON, read back, decoded to the same value.
    @Test func resultRoundTripsThroughProvenance() throws {
        let state = RandomState.state(config: RandomState.tinyConfig(.gpt2), seed: 2)
        let grown = GrownStates.perturbing(state, "model.embed_tokens.weight", at: 5, by: 1e-2)
        let result = try FunctionPreservation.check(
            sourceConfig: state.config, sourceParameters: state.parameters, grownConfig: grown.config,
            grownParameters: grown.parameters, batches: try FunctionPreservation.randomBatches(for: state.config), claimedExact: true)
        let value = result.provenanceValue
        guard case .object(let object) = value else { Issue.record("not an object: \(value)"); return }
        #expect(object["verdict"] == .string("not_preserved") && object["passed"] == .bool(false))
        #expect(object["max_abs_logit_diff"] == .number(result.maxLogitDifference))
        let record = ProvenanceRecord(operatorName: "grow", verification: value, toolVersion: "test", time: "2026-01-01T00:00:00Z")
        let back = try #require(ProvenanceRecord(jsonString: record.jsonString()))
        #expect(back.verification == value)
        let data = try JSONEncoder().encode(try #require(back.verification))
        #expect(try JSONDecoder().decode(FunctionPreservationResult.self, from: data) == result)
    }
}
