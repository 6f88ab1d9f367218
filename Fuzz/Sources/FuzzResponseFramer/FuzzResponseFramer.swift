import FuzzDriver
import NIOCore
@testable import Proxy

/// Upstream bytes through the proxy's response framer. The first byte sets the request's facts (bit 0:
/// HEAD, bit 1: de-chunk for an HTTP/1.0 client) and the read size (bits 2-7, 1 to 64 bytes); the rest is
/// the stream, read as a sequence of responses on one keep-alive connection, then closed. Checked: body
/// bytes never exceed the input, and the framer never loops.
@main
enum FuzzResponseFramer {
    static func main() {
        runFuzzer { data, size in
            examine(fuzzBytes(data, size))
            return 0
        }
    }
}

func examine(_ input: [UInt8]) {
    guard let first = input.first else { return }
    let headRequest = first & 1 != 0
    let dechunk = first & 2 != 0
    let readSize = Int(first >> 2) + 1
    let stream = input.dropFirst()
    var framer = ResponseFramer()
    framer.expectResponse(headRequest: headRequest, dechunk: dechunk)
    var offset = stream.startIndex
    var events = 0
    var bodyBytes = 0
    do {
        while offset < stream.endIndex {
            let end = min(offset + readSize, stream.endIndex)
            var buffer = ByteBuffer(bytes: stream[offset..<end])
            offset = end
            while let event = try framer.next(&buffer) {
                events += 1
                precondition(events <= 3 * stream.count + 3, "more events than input bytes: the framer loops")
                switch event {
                case .body(let bytes):
                    bodyBytes += bytes.readableBytes
                    precondition(bodyBytes <= stream.count, "more body bytes than were read")
                case .end:
                    // The next response on the same connection.
                    framer.expectResponse(headRequest: headRequest, dechunk: dechunk)
                case .head:
                    break
                }
            }
        }
        _ = try framer.endOfInput()
    } catch {
        return
    }
}
