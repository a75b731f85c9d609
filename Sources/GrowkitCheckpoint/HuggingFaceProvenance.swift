import Foundation
import GrowkitState
import GrowkitStorage

/// The provenance of a Hugging Face folder growkit wrote: `growkit_provenance.json` beside
/// config.json, a JSON array of the records (format v1's `/provenance/records`, oldest first).
/// A file rather than the safetensors `__metadata__`: that holds strings only, is repeated or
/// split across shards, and is dropped by tools that rewrite the weights (docs/HUGGINGFACE.md).
public enum HuggingFaceProvenance {
    public static let fileName = "growkit_provenance.json"

    /// The file's bytes for `records`: a JSON array, one record per line.
    public static func json(_ records: [ProvenanceRecord]) -> [UInt8] {
        Array(("[\n" + records.map { "  " + $0.jsonString() }.joined(separator: ",\n") + "\n]\n").utf8)
    }

    /// The records of `growkit_provenance.json` in the folder of `configPath`; none when the file
    /// is absent or not an array of records (the weights are what a reader needs; this is informational).
    public static func read(besides configPath: String) -> [ProvenanceRecord] {
        let folder = folderOf(configPath)
        guard let bytes = try? SafeTensorsShards.readSmallFile((folder.isEmpty ? "." : folder) + "/" + fileName, bound: 1 << 26),
              let records = try? JSONDecoder().decode([ProvenanceRecord].self, from: Data(bytes)) else { return [] }
        return records
    }
}
