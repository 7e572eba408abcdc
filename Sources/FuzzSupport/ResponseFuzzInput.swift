/// How the response fuzz targets (FuzzResponse, FuzzOutbound) read a fuzz
/// input: two bytes choose the split, one the request method and a body
/// limit, and the rest is the response's bytes.
public struct ResponseFuzzInput {
    public var bytes: ArraySlice<UInt8>
    public var split: Int
    public var method: String
    public var maxBodyBytes: UInt64

    /// Nil for inputs shorter than the three leading bytes.
    public init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 3 else { return nil }
        bytes = Array(data[3...])[...]
        split = (Int(data[0]) << 8 | Int(data[1])) % (bytes.count + 1)
        method = data[2] & 1 == 1 ? "HEAD" : "GET"
        maxBodyBytes = data[2] & 2 == 2 ? UInt64(data[2] >> 2) : .max
    }
}
