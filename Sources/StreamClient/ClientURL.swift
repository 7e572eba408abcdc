import HTTP

/// The URL sse-cat reads: the shared `http://` URL of the HTTP module.
public typealias ClientURL = HTTPURL
