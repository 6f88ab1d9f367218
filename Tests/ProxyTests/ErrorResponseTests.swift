import Foundation
import NIOCore
@testable import Proxy
import Testing

/// The proxy's own error answers: a complete response whose JSON body holds the message exactly, whatever
/// characters it has.
@Suite struct ErrorResponseTests {
    @Test("messages with quotes, backslashes, control characters and non-ASCII come back unchanged from the JSON body")
    func bodyIsValidJSON() throws {
        let messages = ["plain", "a \"quoted\" \\ path", "line\nbreak\r\ttab", "bell\u{07} and nul\u{00}", "naïve – 日本"]
        for message in messages {
            let buffer = ErrorResponse.make(status: 502, message: message, requestId: "id-\"1\"", close: true,
                                            allocator: ByteBufferAllocator())
            let text = String(buffer: buffer)
            let parts = text.components(separatedBy: "\r\n\r\n")
            #expect(parts.count == 2, "\(text.debugDescription)")
            #expect(parts[0].hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
            #expect(parts[0].contains("\r\nConnection: close"))
            let body = Data(parts[1].utf8)
            #expect(parts[0].contains("Content-Length: \(body.count)\r\n"))
            let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: String])
            #expect(object["message"] == message)
            #expect(object["request_id"] == "id-\"1\"")
        }
    }
}
