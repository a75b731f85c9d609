import GrowkitCheckpoint
import GrowkitState

extension StateDiff {
    /// Compares two states of any kind ``StateSource`` opens: two checkpoints as
    /// ``compare(_:_:progress:)`` does; with a Hugging Face model on a side, the parameter
    /// values one at a time, and the other side's moments (when it has any) as "only in" it.
    public static func compare(
        _ a: StateSource, _ b: StateSource, progress: (StateDiffProgress) -> Void = { _ in }
    ) throws(HuggingFaceError) -> StateDiff {
        if case .checkpoint(let readerA) = a, case .checkpoint(let readerB) = b {
            do { return try compare(readerA, readerB, progress: progress) } catch { throw .state(error) }
        }
        let specsA = a.config.parameters(), specsB = b.config.parameters()
        let shapesA = Dictionary(uniqueKeysWithValues: specsA.map { ($0.name, $0.shape) })
        let shapesB = Dictionary(uniqueKeysWithValues: specsB.map { ($0.name, $0.shape) })
        let momentRoles: [TensorRole] = [.expAvg, .expAvgSq]
        // (parameter, role, shape on A, shape on B) in A's order, then B's own parameters.
        var work: [(String, TensorRole, [Int]?, [Int]?)] = []
        for spec in specsA {
            work.append((spec.name, .parameter, spec.shape, shapesB[spec.name]))
            for role in momentRoles where !a.isWeightsOnly || !b.isWeightsOnly {
                work.append((spec.name, role, a.isWeightsOnly ? nil : spec.shape, b.isWeightsOnly ? nil : shapesB[spec.name]))
            }
        }
        for spec in specsB where shapesA[spec.name] == nil {
            work.append((spec.name, .parameter, nil, spec.shape))
            if !b.isWeightsOnly { for role in momentRoles { work.append((spec.name, role, nil, spec.shape)) } }
        }
        var entries: [TensorDiffEntry] = []
        for (index, (name, role, shapeA, shapeB)) in work.enumerated() {
            var entry = TensorDiffEntry(parameter: name, role: role, status: .onlyInA, shapeA: shapeA, shapeB: shapeB)
            switch (shapeA, shapeB) {
            case (nil, _): entry.status = .onlyInB
            case (_, nil): entry.status = .onlyInA
            case let (x?, y?) where x != y: entry.status = .shapeChanged
            default:
                // Both sides hold this tensor: a parameter (moments are on both sides only for two checkpoints).
                let difference = TensorDifference(try a.parameter(named: name).data, try b.parameter(named: name).data)
                entry.difference = difference
                entry.status = difference.identical ? .identical : .changed
            }
            entries.append(entry)
            progress(StateDiffProgress(index: index + 1, count: work.count, parameter: name))
        }
        return StateDiff(tensors: entries, fields: metadataDifferences(a.metadata, b.metadata))
    }
}
