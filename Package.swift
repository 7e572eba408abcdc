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
        .executable(name: "sse-cat", targets: ["sse-cat"]),
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
        // Access control as pure logic: SHA-256/HMAC, base64, JWT (HS256), channel globs,
        // credentials, the auth callback's answer, the decision cache, webhook signatures.
        .target(name: "Auth", swiftSettings: fast),
        // Presence (who is connected, join/leave with a grace) and the webhook sender.
        .target(name: "Presence", dependencies: ["EventStream", "Auth", "HTTP", "Reactor"], swiftSettings: fast),
        .executableTarget(name: "sse-serve", dependencies: ["App"]),
        .executableTarget(name: "sse-bench", dependencies: ["Reactor", "HTTP", "CShim"]),
        // The event-stream client behind sse-cat: options, URL, the read-print-reconnect loop.
        .target(name: "StreamClient", dependencies: ["HTTP", "EventStream"], swiftSettings: fast),
        .executableTarget(name: "sse-cat", dependencies: ["StreamClient"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "EventStreamTests", dependencies: ["EventStream"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "EventStream", "Server", "App"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"]),
        .testTarget(name: "PresenceTests", dependencies: ["Presence", "EventStream", "Auth", "Reactor"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "App", "HTTP", "EventStream", "Reactor"]),
        .testTarget(name: "AppTests", dependencies: ["App", "Server", "Feeds", "Reactor"]),
        .testTarget(name: "StreamClientTests", dependencies: ["StreamClient", "EventStream"]),
        // libFuzzer targets (Tests/Fuzz/run.sh); built normally they replay the corpus files given as arguments.
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzRecords", dependencies: ["EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzQuery", dependencies: ["HTTP", "EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzJWT", dependencies: ["Auth", "FuzzSupport"]),
        .executableTarget(name: "FuzzResponse", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzEventStream", dependencies: ["EventStream", "FuzzSupport"]),
    ]
)
