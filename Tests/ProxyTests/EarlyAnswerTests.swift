import Foundation
import TestSupport
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Answers that leave before the request body has all arrived (an upstream's 413, the proxy's own limit):
    /// the answer says `Connection: close`, and the proxy keeps reading and dropping what the client still
    /// sends before it closes, so the close is a FIN and not a reset that could destroy the answer.
    @Suite(.timeLimit(.minutes(1)))
    struct EarlyAnswerTests {
        static let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65_536)
        static let tooLarge = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!"

        /// Starts an upload of 100 MB through `proxy`, sends its first 64 KB and reads the upstream's early answer.
        static func uploadAnsweredEarly(_ proxy: ProxyHarness) throws -> (TestClient, TestResponse) {
            let client = try proxy.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n")
            try client.send(chunk)
            return (client, try client.readResponse())
        }

        @Test("an upstream answers 413 before the body ends: the client reads it with Connection: close, can go on sending, and then sees the connection end cleanly")
        func upstreamAnswersEarly() async throws {
            let backend = try await RawBackend.start(.reply(Array(Self.tooLarge.utf8), close: false))
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
            defer { Task { await proxy.stop(); await backend.stop() } }

            try await onThread {
                let (client, response) = try Self.uploadAnsweredEarly(proxy)
                #expect(response.status == 413)
                #expect(response.text == "too big!")
                #expect(response.header("connection") == "close", "the connection cannot carry another request: \(response.head)")
                // A client that streams its upload without watching for an answer goes on sending: the proxy
                // reads and drops it instead of resetting the connection.
                try client.sendRepeated(Self.chunk, count: 1 << 20)
                client.shutdownWrite()
                #expect(client.waitForClose())
            }
        }

        @Test("a streamed body crosses the route's limit: the proxy's 413 says Connection: close and the client can finish sending before the connection ends")
        func ownLimitAnswersEarly() async throws {
            let backend = try await RawBackend.start(.silent)
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0, maxBodyBytes: 100_000)
            defer { Task { await proxy.stop(); await backend.stop() } }

            try await onThread {
                let client = try proxy.client()
                try client.send("PUT /file HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                let chunkHead = Array("10000\r\n".utf8)
                for _ in 0..<2 {
                    try client.send(chunkHead + Self.chunk + Array("\r\n".utf8))
                }
                let response = try client.readResponse()
                #expect(response.status == 413)
                #expect(response.header("connection") == "close", "\(response.head)")
                for _ in 0..<16 {
                    try client.send(chunkHead + Self.chunk + Array("\r\n".utf8))
                }
                client.shutdownWrite()
                #expect(client.waitForClose())
            }
        }

        @Test("a client that neither sends nor closes after an early answer: the connection closes when the linger time runs out")
        func lingerEndsAtItsLimit() async throws {
            let backend = try await RawBackend.start(.reply(Array(Self.tooLarge.utf8), close: false))
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0,
                                                     limits: ProxyLimits(lingerTime: .milliseconds(200)))
            defer { Task { await proxy.stop(); await backend.stop() } }

            try await onThread {
                let (client, response) = try Self.uploadAnsweredEarly(proxy)
                #expect(response.status == 413)
                try client.send(Self.chunk)  // still read and dropped while the connection lingers
                usleep(1_500_000)
                // Past the linger time the socket is closed: what the client sends now is answered with a reset.
                var refused = false
                for _ in 0..<40 where !refused {
                    do { try client.send(Self.chunk) } catch { refused = true }
                    usleep(25_000)
                }
                #expect(refused, "the lingering connection was still reading after its linger time")
            }
        }
    }
}
