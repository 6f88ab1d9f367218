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

/// A response head as relayed to the client: the upstream's lines without the dropped ones, and the proxy's
/// own ending (`tail`: its `Connection` line and the empty line) in place of the final CRLF.
struct RelayedResponseHead: HeadRendering {
    let head: ResponseHead
    /// Lines the route adds to a final response, after the upstream's and before the tail; usually none.
    var added: [(name: String, value: String)]? = nil
    let tail: ByteBuffer

    func render<Output: HeadOutput>(into out: inout Output) {
        head.bytes.withUnsafeReadableBytes { bytes in
            let headLength = bytes.count - 2
            var cursor = 0
            head.dropped.forEachInOrder { range in
                if range.lowerBound > cursor {
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[cursor..<range.lowerBound]))
                }
                cursor = max(cursor, range.upperBound)
            }
            if headLength > cursor {
                out.append(UnsafeRawBufferPointer(rebasing: bytes[cursor..<headLength]))
            }
        }
        for (name, value) in added ?? [] {
            out.append(name)
            out.append(": ")
            out.append(value)
            out.append("\r\n")
        }
        out.append(tail)
    }
}
