// swift-tools-version:6.0
import PackageDescription

// No package dependencies: the toolchain and the system zlib only.

let package = Package(
    name: "sse-serve",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sse-serve", targets: ["sse-serve"]),
        .executable(name: "sse-bench", targets: ["sse-bench"]),
        .executable(name: "sse-cat", targets: ["sse-cat"]),
    ],
    targets: [
        // epoll, eventfd, inotify and zlib, which Glibc does not export.
        .systemLibrary(name: "CShim", path: "Sources/CShim"),
        // Threads, descriptors, the epoll event loop, logging: knows nothing of HTTP.
        .target(name: "Reactor", dependencies: ["CShim"]),
        // HTTP/1.1 request parsing and response serialisation: pure, no I/O, no SSE.
        .target(name: "HTTP"),
        // The SSE model: events, ids, wire encoding, channel logs, the hub, record parsers.
        .target(name: "EventStream", dependencies: ["Reactor"]),
        // Event sources: ticker, tail, stdin, exec, the sse: relay.
        .target(name: "Feeds", dependencies: ["EventStream", "Reactor", "CShim", "HTTP", "OutboundHTTP"]),
        // The server: connections, routing, handlers, static files, metrics, options.
        .target(name: "Server", dependencies: ["Reactor", "HTTP", "EventStream", "Auth", "Presence", "CShim", "OutboundHTTP"]),
        // Command line → configuration, server and sources wired together; used by main and the tests.
        .target(name: "App", dependencies: ["Server", "Feeds", "EventStream", "Reactor", "RESP", "RedisBackend", "Auth"]),
        // Access control as pure logic: SHA-256/HMAC, base64, JWT (HS256), channel globs,
        // credentials, the auth callback's answer, the decision cache, webhook signatures.
        .target(name: "Auth"),
        // Presence (who is connected, join/leave with a grace) and the webhook sender.
        .target(name: "Presence", dependencies: ["EventStream", "Auth", "HTTP", "Reactor"]),
        .executableTarget(name: "sse-serve", dependencies: ["App"]),
        .executableTarget(name: "sse-bench", dependencies: ["Reactor", "HTTP", "CShim"]),
        // The event-stream client behind sse-cat: options, URL, the read-print-reconnect loop.
        .target(name: "StreamClient", dependencies: ["HTTP", "EventStream"]),
        .executableTarget(name: "sse-cat", dependencies: ["StreamClient"]),
        // The outbound HTTP/1.1 client on our event loops (auth callback, webhooks, the sse: relay).
        .target(name: "OutboundHTTP", dependencies: ["Reactor", "HTTP", "CShim"]),
        // Redis client: the RESP2 reply reader and command writer (pure), URLs, the pipelined client on our loop.
        .target(name: "RESP", dependencies: ["Reactor"]),
        // The Redis side of the event store: the FUNCTION library, the log, channel history.
        .target(name: "RedisBackend", dependencies: ["RESP", "EventStream", "Reactor", "Presence"]),
        // Test helpers (a redis-server child process, a loop on a thread): for test targets only.
        .target(name: "TestKit", dependencies: ["RESP", "Reactor"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "EventStreamTests", dependencies: ["EventStream"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "EventStream", "Server", "App", "OutboundHTTP", "HTTP"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"]),
        .testTarget(name: "PresenceTests", dependencies: ["Presence", "EventStream", "Auth", "Reactor", "TestKit"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "TestKit", "Reactor"]),
        .testTarget(name: "RedisBackendTests", dependencies: ["RedisBackend", "RESP", "EventStream", "TestKit", "Reactor", "Presence"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "App", "Feeds", "HTTP", "EventStream", "Reactor", "Auth", "TestKit"]),
        .testTarget(name: "AppTests", dependencies: ["App", "Server", "Feeds", "Reactor"]),
        .testTarget(name: "StreamClientTests", dependencies: ["StreamClient", "EventStream"]),
        .testTarget(name: "OutboundHTTPTests", dependencies: ["OutboundHTTP", "HTTP", "Reactor"]),
        // libFuzzer targets (Tests/Fuzz/run.sh); built normally they replay the corpus files given as arguments.
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzRecords", dependencies: ["EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzQuery", dependencies: ["HTTP", "EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzJWT", dependencies: ["Auth", "FuzzSupport"]),
        .executableTarget(name: "FuzzResponse", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzEventStream", dependencies: ["EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzRESP", dependencies: ["RESP", "FuzzSupport"]),
        .executableTarget(name: "FuzzOutbound", dependencies: ["OutboundHTTP", "HTTP", "FuzzSupport"]),
    ]
)
