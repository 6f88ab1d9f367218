import TestSupport
import Balancer
import Foundation
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Upstream failures: retries, and the 502/503/504 answers with their JSON bodies.
    @Suite(.timeLimit(.minutes(1)))
    struct UpstreamFailureTests {
        /// A loopback port with nothing listening: bound once, then closed.
        static func closedPortAddress() async throws -> Address {
            let backend = try await TestBackend.start(name: "gone")
            let address = backend.address
            await backend.stop()
            return address
        }

        static func errorBody(_ response: TestResponse) throws -> [String: String] {
            let object = try JSONSerialization.jsonObject(with: Data(response.body))
            return try #require(object as? [String: String])
        }

        @Test func retriesAnotherAddressWhenOneIsDown() async throws {
            let down = try await Self.closedPortAddress()
            let backend = try await TestBackend.start(name: "up")
            let proxy = try await ProxyHarness.start(addresses: [down, backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            for _ in 0..<4 {
                try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(EchoedRequest(response.text).body == "body")
            }
            let reports = proxy.selector.reports
            #expect(reports.contains { $0.0 == down && $0.1 == .connectFailure })
            #expect(reports.allSatisfy { $0.0 != backend.address || $0.1 != .connectFailure })
            #expect(reports.filter { $0.0 == backend.address }.count >= 4)
        }

        @Test func answers503WhenNoAddressIsAvailable() async throws {
            let proxy = try await ProxyHarness.start(addresses: [])
            defer { Task { await proxy.stop() } }

            let client = try proxy.client()
            let started = ContinuousClock.now
            try client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: req-503\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 503)
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(response.header("content-type") == "application/json")
            let body = try Self.errorBody(response)
            #expect(body["message"] == "no upstream available")
            #expect(body["request_id"] == "req-503")
            // The connection stays usable after a refusal of a complete request.
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 503)
        }

        @Test func answers502WhenEveryAddressRefuses() async throws {
            let down = try await Self.closedPortAddress()
            let proxy = try await ProxyHarness.start(addresses: [down], retries: 2)
            defer { Task { await proxy.stop() } }

            let client = try proxy.client()
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(try Self.errorBody(response)["message"] == "upstream connection refused")
            #expect(proxy.selector.reports.filter { $0.1 == .connectFailure }.count == 3, "first try and two retries")
        }

        @Test func aConnectTimeoutMovesToAnotherAddressOrAnswers504() async throws {
            let blackhole = try Blackhole()
            let backend = try await TestBackend.start(name: "up")
            let proxy = try await ProxyHarness.start(
                addresses: [blackhole.address, backend.address], connectTimeout: .milliseconds(200)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            for _ in 0..<2 {
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().text == "hello from up")
            }
            #expect(proxy.selector.reports.contains { $0.0 == blackhole.address && $0.1 == .timeout })

            let only = try await ProxyHarness.start(
                addresses: [blackhole.address], retries: 0, connectTimeout: .milliseconds(200)
            )
            defer { Task { await only.stop() } }
            let second = try only.client()
            try second.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try second.readResponse()
            #expect(response.status == 504)
            #expect(try Self.errorBody(response)["message"] == "upstream connect timed out")
            withExtendedLifetime(blackhole) {}
        }

        @Test func answers502WhenTheBackendResets() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET /reset HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(try Self.errorBody(response)["request_id"]?.count == 32)
            #expect(proxy.selector.reports.map(\.1) == [.failure])
        }

        @Test func neverResendsANonIdempotentRequest() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 5)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("POST /reset HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
            #expect(try client.readResponse().status == 502)
            #expect(backend.requestCount == 1)

            // An idempotent request without a body is retried (and fails the same way each time).
            let second = try proxy.client()
            try second.send("GET /reset HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try second.readResponse().status == 502)
            #expect(backend.requestCount == 1 + 6)
        }

        @Test func answers504WhenTheBackendIsSlowerThanTheReadTimeout() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address], retries: 0, readTimeout: .milliseconds(300)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let started = ContinuousClock.now
            try client.send("GET /slow?ms=3000 HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 504)
            #expect(try Self.errorBody(response)["message"] == "upstream read timed out")
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(2))
            #expect(proxy.selector.reports.map(\.1) == [.timeout])

            // A backend within the timeout is fine on the same client connection.
            try client.send("GET /slow?ms=50 HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "slow")
        }

        @Test func answers504WhenTheBackendStopsTakingTheBodyForTheWriteTimeout() async throws {
            let backend = try await RawBackend.start(.silent)
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address], retries: 0, readTimeout: .seconds(30), writeTimeout: .milliseconds(400)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n")
            // Every buffer on the way fills up; then the proxy's upstream write stalls.
            let sent = try client.sendUntilStalled(Array(repeating: UInt8(ascii: "x"), count: 65536),
                                                   limit: 256 << 20, stallMilliseconds: 200)
            #expect(sent < 256 << 20)
            let response = try client.readResponse()
            #expect(response.status == 504)
            #expect(try Self.errorBody(response)["message"] == "upstream write timed out")
            #expect(proxy.selector.reports.map(\.1) == [.timeout])
        }

        @Test func answers502ForAnInvalidUpstreamResponse() async throws {
            let cases: [String] = [
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
                "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
                "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok",
                "SSH-2.0-OpenSSH\r\n\r\n",
            ]
            for raw in cases {
                let backend = try await RawBackend.start(.reply(Array(raw.utf8), close: false))
                let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
                let client = try proxy.client()
                try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 502, "\(raw.debugDescription)")
                await proxy.stop()
                await backend.stop()
            }
        }

        @Test func closesTheClientWhenTheBodyTurnsInvalidAfterTheHead() async throws {
            let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"
            let backend = try await RawBackend.start(.reply(Array(raw.utf8), close: false))
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(throws: TestClientError.self) { try client.readResponse() }
            #expect(client.peerClosed)
            #expect(proxy.selector.reports.count == 1, "one attempt, one report")
        }

        @Test func relaysACloseDelimitedBodyAndClosesTheClient() async throws {
            let backend = try await RawBackend.start(.reply(Array("HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil close".utf8), close: true))
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") == "close")
            #expect(response.text == "until close")
        }
    }
}
