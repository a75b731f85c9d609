// swift-tools-version:6.0
import PackageDescription

// Layers, dependencies pointing one way (DESIGN.md section 2):
//   GrowkitRandom, GrowkitParallel (leaves) -> storage (GrowkitStorage, GrowkitData)
//   -> plain values (GrowkitState: no file I/O) -> format v1 files (GrowkitCheckpoint)
//   -> math (GrowkitModel) -> growth operators (GrowkitGrowth: state values only, never files)
//   -> training (GrowkitTraining) -> verification (GrowkitVerify) -> planner (GrowkitPlan) -> CLI (growkit).
let package = Package(
    name: "growkit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "growkit", targets: ["growkit"]),
        .executable(name: "growkit-bench", targets: ["growkit-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        // System libraries, found by pkg-config (Debian: libhdf5-dev, libzstd-dev, libopenblas-dev, libssl-dev).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        .target(name: "GrowkitRandom"),
        .target(name: "GrowkitParallel"),  // leaf: the worker pool of the kernels and the checked reads
        .target(name: "CFletcher32"),  // AVX2 kernel of fletcher32, selected at run time
        .target(name: "GrowkitStorage", dependencies: ["CHDF5", "CZstd", "CFletcher32", "GrowkitParallel"]),
        .target(name: "GrowkitData", dependencies: ["CZstd", "GrowkitRandom"]),
        .target(name: "GrowkitState", dependencies: ["GrowkitRandom"]),
        .target(name: "GrowkitCheckpoint", dependencies: ["GrowkitState", "GrowkitStorage", "COpenSSL"]),
        // Optimized in debug builds too: the tests check the kernels as users run them (the
        // forward pass allocates nothing only once generics are specialized), and 10x faster.
        .target(
            name: "GrowkitModel", dependencies: ["GrowkitState", "COpenBLAS", "GrowkitParallel"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "GrowkitPlan"),
        // Loss curves as SVG: a pure function of histories and provenance (no file I/O).
        .target(name: "GrowkitPlot", dependencies: ["GrowkitState"]),
        // Operators are pure functions over state values: the compiler keeps files out.
        .target(name: "GrowkitGrowth", dependencies: ["GrowkitState", "GrowkitRandom"]),
        .target(
            name: "GrowkitTraining",
            dependencies: ["GrowkitModel", "GrowkitData", "GrowkitState", "GrowkitCheckpoint", "GrowkitStorage", "GrowkitPlan"]),
        .target(
            name: "GrowkitVerify",
            dependencies: ["GrowkitModel", "GrowkitData", "GrowkitState", "GrowkitCheckpoint", "GrowkitGrowth", "GrowkitTraining"]),
        .executableTarget(
            name: "growkit",
            dependencies: [
                "GrowkitStorage", "GrowkitState", "GrowkitCheckpoint", "GrowkitData", "GrowkitModel", "GrowkitPlan",
                "GrowkitGrowth", "GrowkitTraining", "GrowkitVerify", "GrowkitPlot",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "growkit-bench",
            dependencies: [
                "GrowkitStorage", "GrowkitState", "GrowkitCheckpoint", "GrowkitData", "GrowkitModel", "GrowkitGrowth",
                "GrowkitTraining", "COpenBLAS",
            ]),

        // Test support only (edits checkpoints in place to make broken files); no product ships it.
        .target(name: "GrowkitTestSupport", dependencies: ["CHDF5"]),
        // Test support only: counts each thread's heap allocations (interposes malloc in the test process).
        .target(name: "CAllocationCounter"),

        .testTarget(name: "GrowkitRandomTests", dependencies: ["GrowkitRandom"]),
        .testTarget(
            name: "GrowkitStorageTests",
            dependencies: ["GrowkitStorage", .product(name: "Numerics", package: "swift-numerics")]),
        .testTarget(
            name: "GrowkitStateTests",
            dependencies: ["GrowkitState", .product(name: "Numerics", package: "swift-numerics")]),
        .testTarget(
            name: "GrowkitCheckpointTests",
            dependencies: [
                "GrowkitCheckpoint", "GrowkitState", "GrowkitStorage", "GrowkitTestSupport",
                .product(name: "Numerics", package: "swift-numerics"),
            ]),
        .testTarget(
            name: "GrowkitGrowthTests",
            dependencies: [
                "GrowkitGrowth", "GrowkitState", "GrowkitModel", "GrowkitCheckpoint",
                .product(name: "Numerics", package: "swift-numerics"),
            ]),
        .testTarget(
            name: "GrowkitDataTests",
            dependencies: ["GrowkitData"]),
        .testTarget(
            name: "GrowkitModelTests",
            dependencies: [
                "GrowkitModel", "GrowkitState", "GrowkitCheckpoint", "GrowkitTraining", "CAllocationCounter",
                .product(name: "Numerics", package: "swift-numerics"),
            ]),
        .testTarget(
            name: "GrowkitPlanTests",
            dependencies: ["GrowkitPlan", .product(name: "Numerics", package: "swift-numerics")]),
        .testTarget(name: "GrowkitPlotTests", dependencies: ["GrowkitPlot", "GrowkitState"]),
        .testTarget(
            name: "GrowkitTrainingTests",
            dependencies: ["GrowkitTraining", "GrowkitModel", "GrowkitState", "GrowkitCheckpoint", "GrowkitStorage", "GrowkitData",
                           "CAllocationCounter"]),
        .testTarget(
            name: "GrowkitVerifyTests",
            dependencies: ["GrowkitVerify", "GrowkitModel", "GrowkitState", "GrowkitCheckpoint", "GrowkitGrowth", "GrowkitTraining",
                           "GrowkitData"]),
        .testTarget(
            name: "GrowkitCLITests",
            dependencies: ["growkit", "GrowkitState", "GrowkitCheckpoint", "GrowkitTestSupport"]),
    ]
)
