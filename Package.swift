// swift-tools-version:6.0
import PackageDescription

/// The numeric kernels are compiled for the machine class Concierge targets
/// (Haswell and newer: AVX2 + FMA + BMI2; this box is an AMD Zen 3, which has no AVX-512). Without it, `SIMD*.addProduct` lowers to
/// slow libm `fma` calls. Other hosts get the compiler's default.
///
/// The numeric targets are optimised in debug builds too: `swift test` trains
/// the real community model once (the conversation tests run against it), and
/// unoptimised loops are ~10× slower.
#if arch(x86_64)
let kernelSwiftFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"]), .unsafeFlags(["-O"], .when(configuration: .debug))]
#else
let kernelSwiftFlags: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

let package = Package(
    name: "Concierge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "concierge", targets: ["concierge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // Already in the graph through Hummingbird; named for the connection guard's HTTP/1 handlers.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C wrapper over the system ICU. Its public header exposes only stdint types.
        .target(
            name: "CICU",
            linkerSettings: [.linkedLibrary("icuuc")]
        ),
        // Normalization → word segmentation → WordPiece.
        .target(name: "Tokenizer", dependencies: ["CICU"]),
        // SIMD math. No Foundation.
        .target(name: "Kernels", swiftSettings: kernelSwiftFlags),
        // Encoder config, layers, forward pass, safetensors checkpoints.
        .target(name: "Model", dependencies: ["Kernels"], swiftSettings: kernelSwiftFlags),
        // Backward passes, AdamW, the trainer for the intent classifier.
        .target(name: "Training", dependencies: ["Model", "Kernels"], swiftSettings: kernelSwiftFlags),
        // The words every module shares: a request's Priority. No dependencies.
        .target(name: "Domain"),
        // The community data pack: YAML schema, loading, lint, held-out split.
        .target(name: "DataPack", dependencies: ["Domain", "Tokenizer", "Yams"]),
        // Metrics (accuracy, macro-F1, per-class, out-of-scope, calibration) and the public benchmark readers.
        .target(name: "Evaluation", dependencies: ["Tokenizer"]),
        // The text classifier (tokenizer + n-grams + model + thresholds), its training recipe, model cards.
        .target(name: "Triage", dependencies: ["Domain", "Tokenizer", "Model", "Training", "DataPack", "Evaluation"]),
        // Staff passwords (scrypt, PHC strings) and session secrets (random tokens, SHA-256, constant-time compare).
        .target(
            name: "StaffAuth",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The ticket store: SQLite (GRDB, system libsqlite3) or PostgreSQL (postgres-nio).
        .target(
            name: "Store",
            dependencies: [
                "Domain",
                "StaffAuth",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The data directory (ConciergeHome): the SQLite store's default file, trained models,
        // config.json, and the store a command uses (StoreLocation.resolve). Depends on Store, never the reverse.
        .target(name: "Home", dependencies: ["Store"]),
        // Line editing and history for the chat REPL (raw termios, UTF-8, display width), and TTY-aware styling.
        .target(name: "LineEditor"),
        // The conversation: policy, state (kept in the store), replies in both languages.
        // Images residents send: the type from the magic bytes, a size cap, metadata stripped, SHA-256.
        .target(name: "Media", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Dialogue", dependencies: ["Triage", "Store", "DataPack", "Media", "Yams"]),
        // Sends the replies queued in the store's outbox to Slack, Telegram and Twilio SMS, and fetches
        // the photos residents sent there (URLSession).
        .target(
            name: "Outbox",
            dependencies: [
                "Store", "Media",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The webhook server: REST, Telegram, Twilio SMS and Slack channels, health and metrics,
        // and the staff web page (Mustache templates compiled in, sessions from StaffAuth).
        .target(
            name: "Server",
            dependencies: [
                "Dialogue", "Triage", "Store", "DataPack", "Outbox", "Yams", "StaffAuth",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command-line interface.
        .executableTarget(
            name: "concierge",
            dependencies: [
                "Domain", "Tokenizer", "DataPack", "Model", "Training", "Evaluation", "Triage", "Store", "Home", "Dialogue", "LineEditor", "Server", "Outbox",
                "Media",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The real community model trained once per test run, a throwaway SQLite store, a scripted resident.
        // …and the test databases (SQLite, or PostgreSQL when a server is given) the store and dialogue suites run on.
        .target(name: "AssistantTestSupport", dependencies: [
            "Dialogue", "Triage", "Tokenizer", "Store", "DataPack", "TestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/AssistantTestSupport"),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"], swiftSettings: kernelSwiftFlags),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Kernels", "TestSupport"], swiftSettings: kernelSwiftFlags),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "TriageTests", dependencies: ["Triage", "TestSupport"]),
        .testTarget(name: "DataPackTests", dependencies: ["DataPack", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor", "TestSupport"]),
        .testTarget(name: "DialogueTests", dependencies: ["Dialogue", "Triage", "Tokenizer", "Store", "DataPack", "TestSupport", "AssistantTestSupport"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Outbox", "Dialogue", "Triage", "Store", "DataPack", "TestSupport", "AssistantTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "StaffAuthTests", dependencies: ["StaffAuth"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"]),
        // The command-line parser, against every command line the documentation shows.
        .testTarget(name: "CLITests", dependencies: ["concierge", "Store", "TestSupport",
                                                     .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "Home", "StaffAuth", "DataPack", "TestSupport", "AssistantTestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .testTarget(name: "OutboxTests", dependencies: [
            "Outbox", "Store", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
