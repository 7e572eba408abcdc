// swift-tools-version:6.0
import PackageDescription

// No package dependencies: the toolchain and the system zlib only.

let package = Package(
    name: "sse-serve",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sse-serve", targets: ["sse-serve"]),
        .executable(name: "sse-bench", targets: ["sse-bench"]),
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
        // Event sources: ticker, tail, stdin, exec.
        .target(name: "Feeds", dependencies: ["EventStream", "Reactor", "CShim"]),
        // The server: connections, routing, handlers, static files, metrics, options.
        .target(name: "Server", dependencies: ["Reactor", "HTTP", "EventStream", "CShim"]),
        // Command line → configuration, server and sources wired together; used by main and the tests.
        .target(name: "App", dependencies: ["Server", "Feeds", "EventStream", "Reactor"]),
        .executableTarget(name: "sse-serve", dependencies: ["App"]),
        .executableTarget(name: "sse-bench", dependencies: ["Reactor", "CShim"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "EventStreamTests", dependencies: ["EventStream"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "EventStream", "Server", "App"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "App", "HTTP", "EventStream", "Reactor"]),
        // libFuzzer targets (Tests/Fuzz/run.sh); built normally they replay the corpus files given as arguments.
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["HTTP", "FuzzSupport"]),
        .executableTarget(name: "FuzzRecords", dependencies: ["EventStream", "FuzzSupport"]),
        .executableTarget(name: "FuzzQuery", dependencies: ["HTTP", "EventStream", "FuzzSupport"]),
    ]
)
