import GrowkitState
import GrowkitStorage

extension CheckpointReader {
    /// Reads the stored tensors `infos` (entries of ``tensors``) in order and calls
    /// `body` with each, as float32; at most two are held at a time, the one `body`
    /// gets and the next one's open dataset.
    ///
    /// While other threads read a tensor's chunks, this thread opens the next
    /// tensor's dataset and reads its metadata and chunk addresses (HDF5 stays on
    /// this thread; `HDF5Dataset.read(into:overlapping:)`), and closes the previous
    /// one: on GPT-2 124M with both moments that hides most of HDF5's share of a
    /// warm read (`growkit-bench storage --read-profile N` prints both ways).
    public func forEachTensor(
        _ infos: [StoredTensorInfo], _ body: (StoredTensorInfo, Tensor) throws(StateError) -> Void
    ) throws(StateError) {
        guard let first = infos.first else { return }
        var next: HDF5Dataset? = try access.requireDataset(first.path)
        try access.storage { () throws(StorageError) in try next!.prepareRead() }
        var previous: HDF5Dataset? = nil
        for (index, info) in infos.enumerated() {
            guard let dataset = next else { break }
            next = nil
            var openFailure: StateError? = nil
            // Meanwhile: close the previous dataset, open and prepare the next.
            func overlapping() throws(StorageError) {
                previous = nil
                guard index + 1 < infos.count else { return }
                do throws(StateError) {
                    next = try access.requireDataset(infos[index + 1].path)
                } catch {
                    openFailure = error
                    return
                }
                try next!.prepareRead()
            }
            let tensor = try self.tensor(
                info, float32: { () throws(StorageError) in try dataset.read(Float.self, overlapping: overlapping) },
                bfloat16Bits: { () throws(StorageError) in try dataset.read(UInt16.self, overlapping: overlapping) })
            if let openFailure { throw openFailure }
            previous = dataset
            try body(info, tensor)
        }
        withExtendedLifetime(previous) {}
    }
}
