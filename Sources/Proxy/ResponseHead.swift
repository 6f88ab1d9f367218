import NIOCore

/// How a response body is delimited on the upstream connection.
enum BodyFraming: Equatable {
    case none
    case length(Int64)
    case chunked
    /// Read until the upstream closes (no Content-Length, no chunked); the connection is not reused.
    case untilClose
    /// After a 101: both directions become raw bytes.
    case tunnel
}

/// The framing facts of one upstream response head, plus its raw bytes for relaying.
struct ResponseHead {
    var status: Int
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    var framing: BodyFraming
    /// Whether the upstream connection may carry another request after this response.
    var reusable: Bool
    /// The whole head as received, status line through the empty line.
    var bytes: ByteBuffer
    /// Byte ranges (relative to `bytes.readerIndex`) of header lines that must not be relayed.
    var dropped: LineRanges

    var isInformational: Bool { status >= 100 && status < 200 && status != 101 }
}

/// What the framer found next in the upstream byte stream.
enum ResponseEvent {
    case head(ResponseHead)
    /// Body bytes to relay: raw (chunk framing included) unless the framer de-chunks.
    case body(ByteBuffer)
    /// The response is complete.
    case end
}

/// Why an upstream response could not be framed; the exchange answers 502.
struct ResponseFramingError: Error, Equatable, CustomStringConvertible {
    var reason: String
    var description: String { "invalid upstream response: \(reason)" }
}
