import GrowkitState
import Testing
@testable import GrowkitVerify

@Suite struct StateDiffTests {
    /// Hand-computed: a = [1, 2, 3, 4], b = [1, 2, 3.5, 3.75]:
    /// max |a-b| = 0.5, ||a|| = sqrt(30), ||a-b|| = sqrt(0.25 + 0.0625) = sqrt(0.3125).
    @Test func tensorDifferenceFigures() {
        let d = TensorDifference([1, 2, 3, 4], [1, 2, 3.5, 3.75])
        #expect(d.maxAbsDifference == 0.5)
        #expect(d.differingElements == 2 && !d.identical)
        #expect(abs(d.normA - 30.0.squareRoot()) < 1e-12)
        #expect(abs(d.normDifference - 0.3125.squareRoot()) < 1e-12)
        #expect(abs(d.relativeRMSDifference - (0.3125 / 30).squareRoot()) < 1e-12)
        #expect(TensorDifference([1, 2], [1, 2]).identical)
        // Bits, not values: -0 and 0 differ, but by 0.
        let zeros = TensorDifference([0, 1], [-0.0, 1])
        #expect(!zeros.identical && zeros.maxAbsDifference == 0)
        // ||a|| = 0: 0 when b is zero too, 1 (all of b is new) otherwise.
        #expect(TensorDifference([0, 0], [0, 0]).relativeRMSDifference == 0)
        #expect(TensorDifference([0, 0], [0, 3]).relativeRMSDifference == 1)
        // A NaN is counted apart and leaves the figures finite.
        let nan = TensorDifference([1, 2], [.nan, 2.5])
        #expect(nan.nonFiniteDifferences == 1 && nan.maxAbsDifference == 0.5 && nan.differingElements == 2)
    }

    @Test func metadataDifferencesNameTheField() {
        let a = RandomState.fixtureMetadata(config: RandomState.tinyConfig(.llama), seed: 1, arguments: [:], toolVersion: "t", time: "x")
        #expect(StateDiff.metadataDifferences(a, a).isEmpty)
        var b = a
        b.trainer.step += 1
        b.config.numLayers = 3
        b.schedule.rewarmStart = 40
        b.schedule.rewarmSteps = 10
        b.provenance.append(GrownStates.grow(GrownStates.copyRecord(exact: true)))
        let fields = StateDiff.metadataDifferences(a, b)
        #expect(fields.contains(FieldDifference(section: "trainer", field: "step", a: "40", b: "41")))
        #expect(fields.contains(FieldDifference(section: "config", field: "num_layers", a: "2", b: "3")))
        #expect(fields.contains(FieldDifference(section: "schedule", field: "rewarm_start", a: nil, b: "40")))
        #expect(fields.contains(FieldDifference(section: "provenance", field: "length", a: "1", b: "2")))
        #expect(fields.contains(FieldDifference(section: "provenance", field: "record 1", a: nil, b: "grow copy at 2026-01-01T00:00:00Z")))
        #expect(fields.count == 6)
    }
}
