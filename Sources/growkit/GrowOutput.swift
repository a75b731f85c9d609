import Foundation
import GrowkitCheckpoint
import GrowkitGrowth
import GrowkitState

/// `grow` into a Hugging Face folder: the folder writer pulls each grown value in its own
/// order, made by the same recipe `GrowthPlan.run(components: [.value])` uses (every recipe
/// seeds its own random fill, so the order does not change a byte); no moments, no schedule.
enum GrowOutput {
    /// The folder tokenizer files are copied from: the input's folder.
    static func tokenizerFolder(of source: StateSource) -> String {
        let path: String
        switch source {
        case .checkpoint(let reader): path = reader.path
        case .huggingFace(let model): path = model.configPath
        }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// OUT ending in `.safetensors`: one file, with config.json and `growkit_provenance.json`
    /// beside it (what `HuggingFaceModel(path:)` reads back). The folder is written whole
    /// first (unsharded, in a temporary folder next to OUT), then its three files are moved
    /// into place, the weights last; existing files are never replaced.
    static func huggingFaceFile(
        _ plan: GrowthPlan, source: StateSource, to output: String, options: HuggingFaceFolderWriter.Options,
        provenance: () throws(HuggingFaceError) -> [ProvenanceRecord], progress: (Int, Int) -> Void
    ) throws(HuggingFaceError) {
        let url = URL(fileURLWithPath: output)
        let parent = url.deletingLastPathComponent().path
        let besides = ["config.json", HuggingFaceProvenance.fileName].map { parent + "/" + $0 }
        for path in [output] + besides where FileManager.default.fileExists(atPath: path) {
            throw .invalidPath(path: path, problem: "already exists; a .safetensors output writes \(url.lastPathComponent), config.json and \(HuggingFaceProvenance.fileName) into a folder that has none of them (growkit never overwrites)")
        }
        let temporary = parent + "/." + url.lastPathComponent + ".folder-\(getpid())"
        var options = options
        options.maxShardBytes = Int.max
        try huggingFace(plan, source: source, to: temporary, options: options, provenance: provenance, progress: progress)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        do {
            for (name, target) in zip(["config.json", HuggingFaceProvenance.fileName, "model.safetensors"], besides + [output]) {
                try FileManager.default.moveItem(atPath: temporary + "/" + name, toPath: target)
            }
        } catch {
            throw .invalidPath(path: output, problem: "could not be moved into place (\(error.localizedDescription))")
        }
    }

    /// Writes the grown weights of `plan` from `source` as the Hugging Face folder `output`, with
    /// `provenance()` (called after the weights) as `growkit_provenance.json` beside config.json.
    static func huggingFace(
        _ plan: GrowthPlan, source: StateSource, to output: String, options: HuggingFaceFolderWriter.Options,
        provenance: () throws(HuggingFaceError) -> [ProvenanceRecord], progress: (Int, Int) -> Void
    ) throws(HuggingFaceError) {
        let recipes = Dictionary(plan.recipes.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
        try HuggingFaceFolderWriter.write(
            config: plan.grown, to: output, options: options,
            parameter: { (spec) throws(HuggingFaceError) in
                guard let recipe = recipes[spec.name] else { throw .missingTensor(file: output, tensor: spec.name) }
                let sourceTensor = try recipe.source.map { (name) throws(HuggingFaceError) in try source.parameter(named: name) }
                var reference: Tensor? = nil
                if recipe.fill == .random, let name = recipe.randomReference {
                    reference = name == recipe.source ? sourceTensor : try source.parameter(named: name)
                }
                return recipe.make(.value, from: sourceTensor, reference: reference, optimizer: .reset)
            },
            extraFiles: { () throws(HuggingFaceError) in
                [(HuggingFaceProvenance.fileName, HuggingFaceProvenance.json(try provenance()))]
            },
            progress: progress)
    }
}
