// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Tern",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tern", targets: ["tern"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Pure: no I/O, no clocks, no unseeded randomness.
        .target(name: "TernCore", swiftSettings: strict),
        .target(name: "TernStorage", dependencies: ["TernCore"], swiftSettings: strict),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        // zlib for HTTP Content-Encoding / Accept-Encoding (gzip, deflate); wrapped by TernAPI's HTTPCompression.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TernRocksDB", dependencies: ["CRocksDB", "TernStorage", "TernCore"], swiftSettings: strict),
        .target(name: "TernCluster", dependencies: ["TernCore", "TernStorage"], swiftSettings: strict),
        // The shells that run TernCluster's state machines: storage I/O, the blocking pool, timers.
        .target(
            name: "TernTransport",
            dependencies: [
                "TernCore", "TernStorage", "TernCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The deterministic cluster simulator (`tern sim`): the real state machines on one thread, virtual time, seeded faults.
        .target(name: "TernSimulation", dependencies: ["TernCluster", "TernCore", "TernStorage"], swiftSettings: strict),
        // Load generator for `tern bench`: blocking sockets (Foundation/Glibc), no NIO; TernCore for its seeded generator.
        .target(name: "TernBench", dependencies: ["TernCore"], swiftSettings: strict),
        .target(
            name: "TernAPI",
            dependencies: [
                "TernCore", "TernStorage", "TernCluster", "TernTransport", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TernServer",
            dependencies: [
                "TernCore", "TernStorage", "TernRocksDB", "TernCluster", "TernTransport", "TernAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tern",
            dependencies: [
                "TernServer", "TernCore", "TernBench", "TernSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "TernCoreTests", dependencies: ["TernCore"], swiftSettings: strict),
        .testTarget(name: "TernStorageTests", dependencies: ["TernStorage", "TernRocksDB", "TernCore"], swiftSettings: strict),
        .testTarget(name: "TernClusterTests", dependencies: ["TernCluster", "TernCore"], swiftSettings: strict),
        .testTarget(name: "TernTransportTests", dependencies: ["TernTransport", "TernCluster", "TernCore", "TernStorage", "TernRocksDB"], swiftSettings: strict),
        .testTarget(name: "TernAPITests", dependencies: ["TernAPI", "TernCore", "TernStorage", "TernCluster", "TernTransport"], swiftSettings: strict),
        .testTarget(name: "TernSimulationTests", dependencies: ["TernSimulation", "TernCluster", "TernCore"], swiftSettings: strict),
        .testTarget(name: "TernBenchTests", dependencies: ["TernBench", "TernCore"], swiftSettings: strict),
    ]
)
