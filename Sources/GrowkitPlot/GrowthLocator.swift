import GrowkitState

/// Where a run grew: the history entry recorded last before the growth.
public struct GrowthPoint: Sendable, Hashable {
    /// How the position was found, most reliable first.
    public enum Method: String, Sendable, Hashable {
        /// The record's `growth.history_length`: exact.
        case recorded
        /// The record's `source` is another plotted run whose history is a prefix of this one's.
        case source
        /// The history's step goes back at this entry (`--schedule restart`, `rewind`, `rewarm` move the step back).
        case stepReset
        /// Neither: the growth is taken to be at the last entry (true for a file straight out of `grow`).
        case lastEntry
    }

    /// Index into `/provenance` of the `grow` record.
    public var recordIndex: Int
    /// Index into the history of the last entry before the growth.
    public var historyIndex: Int
    /// `grow: depth=identity:2, width=split:2` (the record's `growth.operators`).
    public var label: String
    public var method: Method
    /// The `growth` object, when the record has one (for the source model's size).
    public var growth: GrowthRecord?
}

/// Finds where each `grow` record of a run sits in its history.
///
/// `grow` keeps the history, so the entries before a growth are exactly those the
/// source had. For each `grow` record, oldest first:
/// 0. if its `growth.history_length` is set (records of this version on), the growth is
///    at the entry before that index;
/// 1. otherwise, if its `source` names another plotted run (same file name) whose history is a
///    prefix of this run's, the growth is at that run's last entry;
/// 2. otherwise, if the history's step goes back (an entry whose step is not above the
///    one before: the schedule transforms `restart`, `rewind` and `rewarm` move the step
///    back while tokens keep counting) exactly as many times as there are growths left,
///    they pair up in order, each growth at the entry before its reset;
/// 3. otherwise at the last entry, which is right for a state not trained since it grew
///    and wrong for one grown with `--schedule continue` and trained on: plot it together
///    with its source to place the mark exactly.
public enum GrowthLocator {
    public static func locate(_ run: PlotRun, among runs: [PlotRun]) -> [GrowthPoint] {
        let history = run.history
        guard history.count > 0 else { return [] }
        let records = run.provenance.enumerated().filter { $0.element.operatorName == "grow" }
        var found: [Int: (Int, GrowthPoint.Method)] = [:]
        for (index, record) in records {
            if let length = record.growth?.historyLength, length >= 1, length <= history.count {
                found[index] = (length - 1, .recorded)
                continue
            }
            guard let source = record.source else { continue }
            if let other = runs.first(where: { $0.fileName == source && $0 != run && isPrefix($0.history, of: history) }) {
                found[index] = (other.history.count - 1, .source)
            }
        }
        let unresolved = records.map(\.offset).filter { found[$0] == nil }
        let taken = Set(found.values.map(\.0))
        let resets = (1..<max(history.count, 1)).filter { history.step[$0] <= history.step[$0 - 1] }
            .map { $0 - 1 }.filter { !taken.contains($0) }
        if !unresolved.isEmpty && resets.count == unresolved.count {
            for (record, entry) in zip(unresolved, resets) { found[record] = (entry, .stepReset) }
        }
        return records.map { index, record in
            let (entry, method) = found[index] ?? (history.count - 1, .lastEntry)
            let operators = record.growth?.operators ?? []
            let label = operators.isEmpty ? "grow" : "grow: " + operators.joined(separator: ", ")
            return GrowthPoint(recordIndex: index, historyIndex: entry, label: label, method: method, growth: record.growth)
        }
    }

    /// Whether `a`'s entries are `b`'s first entries (step, loss and tokens equal), `a` not empty.
    static func isPrefix(_ a: TrainingHistory, of b: TrainingHistory) -> Bool {
        guard a.count > 0, a.count <= b.count else { return false }
        for i in 0..<a.count where a.step[i] != b.step[i] || a.tokens[i] != b.tokens[i] || a.loss[i] != b.loss[i] {
            return false
        }
        return true
    }
}
