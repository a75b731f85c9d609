import GrowkitGrowth
import GrowkitState

/// Checks one grown tensor against its recipe (``GradientConsistency``), accumulating the first
/// few mismatches over all tensors.
struct TensorChecker {
    /// A recipe's source tensor: its gradient (a slice of the flat source gradient) and AdamW state.
    struct Source {
        var name: String
        var shape: [Int]
        var gradient: [Float]
        var offset: Int
        var state: AdamParameterState
    }

    let tolerance: GradientTolerance
    let carry: Bool
    /// False for a weights-only side: the gradients are checked, the moments and steps are not.
    let checkMoments: Bool
    var mismatches: [GradientMismatch] = []

    init(tolerance: GradientTolerance, carry: Bool, checkMoments: Bool = true) {
        self.tolerance = tolerance
        self.carry = carry
        self.checkMoments = checkMoments
    }

    /// One entry of the grown tensor: its source's flat index within the source tensor and `s`,
    /// or `nil` when it has no source.
    private func sourceEntry(_ recipe: TensorRecipe, _ rows: AxisMap, _ columns: AxisMap, _ i: Int, _ j: Int,
                             _ sourceColumns: Int) -> (index: Int, scale: Double)? {
        let si = Int(rows.sources[i]), sj = Int(columns.sources[j])
        guard si >= 0, sj >= 0 else { return nil }
        if recipe.blockDiagonal && recipe.axes.count == 2 && rows.replicas[i] != columns.replicas[j] { return nil }
        let s = Double(rows.gradientScales[i]) * Double(columns.gradientScales[j]) * Double(recipe.gradientScale)
        return (si * sourceColumns + sj, s)
    }

    mutating func check(recipe: TensorRecipe, optimizer: OptimizerTransfer, grownGradient: [Float], grownOffset: Int,
                        grownState: AdamParameterState, source: Source?, floor gradientFloor: Double) -> GradientGroupRow {
        let spec = recipe.spec
        var row = GradientGroupRow(group: spec.name)
        row.tensors = 1
        let carried = source != nil && !recipe.freshMoments
        let rows = carried ? recipe.axes[0] : AxisMap.identity(spec.shape[0])
        let columns = carried && recipe.axes.count == 2 ? recipe.axes[1]
            : AxisMap.identity(spec.shape.count == 2 ? spec.shape[1] : 1)
        let sourceColumns = source.map { $0.shape.count == 2 ? $0.shape[1] : 1 } ?? 1
        let width = columns.count
        func index(_ flat: Int) -> [Int] { spec.shape.count == 2 ? [flat / width, flat % width] : [flat] }
        func sourceIndex(_ flat: Int) -> [Int] { source?.shape.count == 2 ? [flat / sourceColumns, flat % sourceColumns] : [flat] }
        /// Calls `body(grown flat index, source flat index or -1, s)` for every entry, row-major.
        func forEachEntry(_ body: (Int, Int, Double) -> Void) {
            for i in 0..<rows.count {
                for j in 0..<width {
                    if carried, let e = sourceEntry(recipe, rows, columns, i, j, sourceColumns) {
                        body(i * width + j, e.index, e.scale)
                    } else {
                        body(i * width + j, -1, 0)
                    }
                }
            }
        }
        var carriedEntries = 0
        forEachEntry { _, s, _ in if s >= 0 { carriedEntries += 1 } }
        row.gradientEntries = carriedEntries
        row.freshEntries = spec.elementCount - carriedEntries

        // Gradients: |g' - s g| against the tolerance times the tensor's RMS of s g.
        if let source, carriedEntries > 0 {
            var sum = 0.0, maxDiff = 0.0
            source.gradient.withUnsafeBufferPointer { g in
                grownGradient.withUnsafeBufferPointer { h in
                    forEachEntry { k, si, s in
                        guard si >= 0 else { return }
                        let expected = s * Double(g[source.offset + si])
                        sum += expected * expected
                        maxDiff = max(maxDiff, abs(Double(h[grownOffset + k]) - expected))
                    }
                }
            }
            let scale = max((sum / Double(carriedEntries)).squareRoot(), gradientFloor)
            row.worstGradientError = scale > 0 ? maxDiff / scale : (maxDiff > 0 ? .infinity : 0)
            if row.worstGradientError > tolerance.gradient {
                var found: [GradientMismatch] = []
                var count = 0
                forEachEntry { k, si, s in
                    guard si >= 0 else { return }
                    let expected = s * Double(source.gradient[source.offset + si])
                    let value = Double(grownGradient[grownOffset + k])
                    let error = scale > 0 ? abs(value - expected) / scale : .infinity
                    guard error > tolerance.gradient else { return }
                    count += 1
                    if found.count < GradientConsistency.mismatchLimit {
                        found.append(GradientMismatch(tensor: spec.name, quantity: .gradient, index: index(k), source: source.name,
                                                      sourceIndex: sourceIndex(si), scale: s, expected: expected,
                                                      found: value, relativeError: error))
                    }
                }
                row.gradientMismatches = count
                found.forEach { note($0) }
            }
        }

        guard checkMoments else { return row }
        // Moments: s m (s^2 m for exp_avg_sq) at carried entries, 0 everywhere else.
        let keep = carry && carried
        for (quantity, grownTensor, sourceTensor) in [
            (GradientMismatch.Quantity.expAvg, grownState.expAvg, source?.state.expAvg),
            (.expAvgSq, grownState.expAvgSq, source?.state.expAvgSq),
        ] {
            let squared = quantity == .expAvgSq
            let m = keep ? sourceTensor?.data ?? [] : []
            func expected(_ si: Int, _ s: Double) -> Double {
                guard si >= 0, !m.isEmpty else { return 0 }
                return (squared ? s * s : s) * Double(m[si])
            }
            var sum = 0.0
            forEachEntry { _, si, s in let x = expected(si, s); sum += x * x }
            let floor = 1e-6 * (sum / Double(max(spec.elementCount, 1))).squareRoot()
            var worst = 0.0, count = 0
            var found: [GradientMismatch] = []
            forEachEntry { k, si, s in
                let value = Double(grownTensor.data[k]), want = expected(si, s)
                let diff = abs(value - want)
                guard diff > 0 else { return }
                let denominator = abs(want) + floor
                let error = denominator > 0 ? diff / denominator : .infinity
                worst = max(worst, error)
                guard error > tolerance.moments else { return }
                count += 1
                if found.count < GradientConsistency.mismatchLimit {
                    found.append(GradientMismatch(tensor: spec.name, quantity: quantity, index: index(k),
                                                  source: si >= 0 ? source?.name : nil, sourceIndex: si >= 0 ? sourceIndex(si) : nil,
                                                  scale: si >= 0 ? s : nil, expected: want, found: value, relativeError: error))
                }
            }
            row.momentMismatches += count
            found.forEach { note($0) }
            if squared { row.worstExpAvgSqError = worst } else { row.worstExpAvgError = worst }
        }

        let expectedStep = recipe.step(sourceStep: source?.state.step, optimizer: optimizer)
        if grownState.step != expectedStep {
            row.stepMismatches = 1
            note(GradientMismatch(tensor: spec.name, quantity: .step, index: [], source: source?.name, sourceIndex: nil,
                                  scale: nil, expected: Double(expectedStep), found: Double(grownState.step),
                                  relativeError: .infinity))
        }
        return row
    }

    private mutating func note(_ mismatch: GradientMismatch) {
        if mismatches.count < GradientConsistency.mismatchLimit { mismatches.append(mismatch) }
    }
}
