/// Hands out the buffers of one 64-byte-aligned arena, the one place where the activation and
/// gradient arenas are sized and carved (llm.c sizes its `ActivationTensors` from one table of
/// sizes and then assigns pointers in the same order; here the two steps are one function run twice).
///
/// A layout is a function `carve(&cursor) -> Parts` that calls ``take(_:)`` once per buffer.
/// ``Arena/make(maxBytes:tooLarge:_:)`` runs it first on a sizing cursor (which only adds up the
/// sizes, with overflow checks, and hands out a placeholder address that is never dereferenced),
/// allocates the total, and runs it again on the real memory. Sizes and order therefore cannot
/// drift apart.
public struct ArenaCursor {
    /// nil while sizing.
    private let base: UnsafeMutablePointer<Float>?
    /// Floats handed out so far (each buffer rounded up to 16 floats, 64 bytes).
    public private(set) var floats = 0
    /// Set when a size's product or the running total overflowed `Int`.
    public private(set) var overflowed = false

    init(base: UnsafeMutablePointer<Float>?) { self.base = base }

    /// Reserves a buffer of `factors.reduce(1, *)` floats (the product checked for overflow) and returns it.
    /// The memory is zero-initialised by ``Arena``.
    public mutating func take(_ factors: Int...) -> UnsafeMutablePointer<Float> {
        var size = 1
        for factor in factors {
            let (product, overflow) = size.multipliedReportingOverflow(by: factor)
            if overflow || factor < 0 { overflowed = true }
            size = product
        }
        let (padded, o1) = size.addingReportingOverflow(15)
        let (total, o2) = floats.addingReportingOverflow(padded & ~15)
        if o1 || o2 { overflowed = true }
        defer { floats = overflowed ? floats : total }
        // While sizing: a placeholder, aligned and never read or written.
        guard let base else { return UnsafeMutablePointer(bitPattern: 64)! }
        return base + floats
    }

    /// ``take(_:)`` for a buffer of `count` 32-bit integers (token ids), same size as floats.
    public mutating func takeInt32(_ count: Int) -> UnsafeMutablePointer<Int32> {
        UnsafeMutableRawPointer(take(count)).bindMemory(to: Int32.self, capacity: max(count, 0))
    }
}

/// The memory behind one layout (see ``ArenaCursor``), freed when the owner is.
public final class Arena {
    public let byteCount: Int
    let memory: UnsafeMutableRawPointer

    private init(byteCount: Int) {
        self.byteCount = byteCount
        memory = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 64))
    }

    deinit { memory.deallocate() }

    /// Sizes the layout `carve`, allocates it zeroed, and returns the arena and what `carve` assigned.
    /// - Throws: `tooLarge(bytes)` (bytes = `Int.max` on overflow) when the total exceeds `maxBytes`.
    public static func make<Parts, Failure: Error>(
        maxBytes: Int, tooLarge: (Int) -> Failure, _ carve: (inout ArenaCursor) -> Parts
    ) throws(Failure) -> (Arena, Parts) {
        var sizing = ArenaCursor(base: nil)
        _ = carve(&sizing)
        let (bytes, overflow) = sizing.floats.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !sizing.overflowed, !overflow else { throw tooLarge(Int.max) }
        guard bytes <= maxBytes else { throw tooLarge(bytes) }
        let arena = Arena(byteCount: bytes)
        var cursor = ArenaCursor(base: arena.memory.bindMemory(to: Float.self, capacity: max(sizing.floats, 16)))
        let parts = carve(&cursor)
        return (arena, parts)
    }
}
