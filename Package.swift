// swift-tools-version:6.0
import PackageDescription

// No package dependencies: the toolchain and the system zlib only.

// Release builds skip run-time exclusivity checks: the loop-owned classes are
// touched by one thread by design, and the checks cost ~5% on the delivery path.
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "sse-serve",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sse-serve", targets: ["sse-serve"]),
        .executable(name: "sse-bench", targets: ["sse-bench"]),
    ],
    targets: [
        // epoll, eventfd, timerfd, inotify and zlib, which Glibc does not export.
        .systemLibrary(name: "CShim", path: "Sources/CShim"),
        // Threads, descriptors, the epoll event loop, logging: knows nothing of HTTP.
        .target(name: "Reactor", dependencies: ["CShim"], swiftSettings: fast),
        // HTTP/1.1 request parsing and response serialisation: pure, no I/O, no SSE.
        .target(name: "HTTP", swiftSettings: fast),
        // The SSE model: events, ids, wire encoding, channel logs, the hub, record parsers.
        .target(name: "EventStream", dependencies: ["Reactor"], swiftSettings: fast),
        // Event sources: ticker, tail, stdin, exec.
        .target(name: "Feeds", dependencies: ["EventStream", "Reactor", "CShim"], swiftSettings: fast),
        // The server: connections, routing, handlers, static files, metrics, options.
        .target(name: "Server", dependencies: ["Reactor", "HTTP", "EventStream", "CShim"], swiftSettings: fast),
        // Command line → configuration, server and sources wired together; used by main and the tests.
        .target(name: "App", dependencies: ["Server", "Feeds", "EventStream", "Reactor"]),
        .executableTarget(name: "sse-serve", dependencies: ["App"]),
        .executableTarget(name: "sse-bench", dependencies: ["Reactor", "CShim"]),
        // Redis client: the RESP2 reply reader and command writer (pure), URLs, the pipelined client on our loop.
        .target(name: "RESP", dependencies: ["Reactor"], swiftSettings: fast),
        // The Redis side of the event store: the FUNCTION library, the log, channel history.
        .target(name: "RedisBackend", dependencies: ["RESP", "EventStream", "Reactor"], swiftSettings: fast),
        // Test helpers (a redis-server child process, a loop on a thread): for test targets only.
        .target(name: "TestKit", dependencies: ["RESP", "Reactor"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "EventStreamTests", dependencies: ["EventStream"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "EventStream", "Server", "App"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "TestKit", "Reactor"]),
        .testTarget(name: "RedisBackendTests", dependencies: ["RedisBackend", "RESP", "EventStream", "TestKit", "Reactor"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "App", "HTTP", "EventStream", "Reactor"]),
        // libFuzzer targets (Tests/Fuzz/run.sh); built normally they replay the corpus files given as arguments.
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzRecords", dependencies: ["EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzQuery", dependencies: ["HTTP", "EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzRESP", dependencies: ["RESP", "FuzzSupport"]),
    ]
)
