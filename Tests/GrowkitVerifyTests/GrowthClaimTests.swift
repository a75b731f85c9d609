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
