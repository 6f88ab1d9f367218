import TestSupport
import Balancer
import Foundation
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Requests relayed through a real proxy to real loopback backends.
    @Suite(.timeLimit(.minutes(1)))
    struct RelayTests {
        @Test func relaysAResponseAndAddsVia() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET /hello HTTP/1.1\r\nHost: example.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello from a")
            #expect(response.header("via") == "1.1 switchyard")
            #expect(response.header("keep-alive") == nil, "hop-by-hop Keep-Alive from the backend is not relayed")
            #expect(response.header("x-backend") == "a")
        }

        @Test func reusesOneUpstreamConnectionForSequentialRequests() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            for _ in 0..<3 {
                let client = try proxy.client()
                for i in 0..<10 {
                    try client.send("GET /hello?i=\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                }
            }
            #expect(backend.requestCount == 30)
            #expect(backend.connectionCount == 1)
            #expect(await proxy.server.upstreamConnectionsOpened() == 1)
        }

        @Test func closesIdleUpstreamConnectionsAfterTheIdleTimeout() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address], pool: PoolSettings(maxIdlePerAddress: 8, idleTimeout: .milliseconds(200))
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(backend.connectionCount == 1)
            try await Task.sleep(for: .milliseconds(600))
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(backend.connectionCount == 2)
        }

        @Test func doesNotReuseAConnectionTheBackendCloses() async throws {
            let raw = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbye\n"
            let backend = try await RawBackend.start(.reply(Array(raw.utf8), close: true))
            let proxy = try await ProxyHarness.start(addresses: [backend.address], retries: 0)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            for _ in 0..<3 {
                try client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "bye\n")
                #expect(response.header("connection") == nil, "the backend's Connection: close is hop-by-hop")
            }
            #expect(await proxy.server.upstreamConnectionsOpened() == 3)
        }

        @Test func removesHopByHopHeadersAndAddsForwardingHeaders() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(
                "GET /echo?q=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
                    + "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n"
                    + "X-Forwarded-For: 10.1.1.1\r\nX-Request-Id: client-id-1\r\nAccept: */*\r\nVia: 1.1 edge\r\n\r\n"
            )
            let response = try client.readResponse()
            #expect(response.status == 200)
            let echoed = EchoedRequest(response.text)
            #expect(echoed.line == "GET /echo?q=1 HTTP/1.1")
            #expect(echoed.header("host") == "shop.example")
            #expect(echoed.header("accept") == "*/*")
            for removed in ["connection", "x-secret", "keep-alive", "te", "proxy-authorization", "proxy-connection"] {
                #expect(echoed.header(removed) == nil, "\(removed) must not reach the upstream")
            }
            #expect(echoed.header("x-forwarded-for") == "10.1.1.1, 127.0.0.1")
            #expect(echoed.header("x-forwarded-proto") == "http")
            #expect(echoed.header("x-forwarded-host") == "shop.example")
            #expect(echoed.header("x-forwarded-port") == String(proxy.port))
            #expect(echoed.header("via") == "1.1 edge, 1.1 switchyard")
            #expect(echoed.header("x-request-id") == "client-id-1")
        }

        @Test func replacesAMalformedRequestIdWithAGeneratedOne() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            var ids: [String] = []
            for id in ["bad id with spaces", "<script>"] {
                try client.send("GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-Id: \(id)\r\n\r\n")
                let echoed = EchoedRequest(try client.readResponse().text)
                let generated = try #require(echoed.header("x-request-id"))
                #expect(generated.count == 32)
                #expect(generated.allSatisfy { $0.isHexDigit })
                ids.append(generated)
            }
            #expect(ids[0] != ids[1])
        }

        @Test func relaysAValidTraceparentAndStartsOneWhenAbsentOrInvalid() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try client.send("GET /echo HTTP/1.1\r\nHost: a\r\ntraceparent: \(valid)\r\ntracestate: k=v\r\n\r\n")
            var echoed = EchoedRequest(try client.readResponse().text)
            #expect(echoed.header("traceparent") == valid)
            #expect(echoed.header("tracestate") == "k=v")

            for sent in ["", "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\n"] {
                try client.send("GET /echo HTTP/1.1\r\nHost: a\r\n\(sent)\r\n")
                echoed = EchoedRequest(try client.readResponse().text)
                let generated = try #require(echoed.header("traceparent"))
                let parts = generated.split(separator: "-")
                #expect(parts.count == 4 && parts[0] == "00" && parts[3] == "01", "\(generated)")
                // The trace id is the request id, so the access log's two ids name the same request.
                #expect(parts.count > 1 && String(parts[1]) == echoed.header("x-request-id"), "\(generated)")
                #expect(echoed.headers.filter { $0.0.lowercased() == "traceparent" }.count == 1, "one traceparent upstream")
            }
        }

        @Test func answersPipelinedRequestsInOrder() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(
                "GET /slow?ms=200 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst"
                    + "GET /status?code=201 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n"
            )
            let first = try client.readResponse()
            #expect(first.text == "slow")
            let second = try client.readResponse()
            #expect(EchoedRequest(second.text).body == "first")
            let third = try client.readResponse()
            #expect(third.status == 201)
            let fourth = try client.readResponse()
            #expect(EchoedRequest(fourth.text).body == "second")
        }

        @Test func relaysChunkedBodiesBothWays() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "4\r\nwiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
            let echo = try client.readResponse()
            let echoed = EchoedRequest(echo.text)
            #expect(echoed.body == "wikipedia in\r\n\r\nchunks.")
            #expect(echoed.header("transfer-encoding") == "chunked")

            try client.send("GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n")
            let chunked = try client.readResponse()
            #expect(chunked.header("transfer-encoding") == "chunked")
            #expect(chunked.text == "alpha-beta-gamma")

            // The connection is still in step after both.
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "hello from a")
        }

        @Test func dechunksForHTTP10Clients() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET /chunked HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.text == "alpha-beta-gamma")
            #expect(client.peerClosed || client.waitForClose())

            let keep = try proxy.client()
            try keep.send("GET /hello HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
            let first = try keep.readResponse()
            #expect(first.header("connection")?.lowercased() == "keep-alive")
            try keep.send("GET /hello HTTP/1.0\r\nHost: a\r\n\r\n")
            let second = try keep.readResponse()
            #expect(second.text == "hello from a")
            #expect(second.header("connection")?.lowercased() == "close")
            #expect(keep.waitForClose())
        }

        @Test func handlesExpectContinue() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("POST /continue HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n")
            let interim = try client.readBytes(25)
            #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
            try client.send("payload")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(EchoedRequest(response.text).body == "payload")
        }

        @Test func headResponsesHaveNoBody() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("HEAD /source?n=1000 HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try client.readResponse(headRequest: true)
            #expect(head.status == 200)
            #expect(head.header("content-length") == "1000")
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "hello from a")
        }

        @Test func closesTheClientWhenTheBackendRefusesAnUpgrade() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") == "close")
            #expect(client.waitForClose())
        }

        @Test func tunnelsAWebSocketUpgrade() async throws {
            let backend = try await RawBackend.start(.upgradeEcho)
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(
                "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            let response = try client.readResponse()
            #expect(response.status == 101)
            #expect(response.header("upgrade") == "websocket")
            #expect(response.header("connection")?.lowercased() == "upgrade")
            // A masked text frame "hi": FIN+text, mask bit + length 2, mask key, masked payload.
            let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
            let payload = Array("hi".utf8).enumerated().map { $0.element ^ mask[$0.offset % 4] }
            let frame: [UInt8] = [0x81, 0x82] + mask + payload
            try client.send(frame)
            #expect(try client.readBytes(frame.count) == frame)
            try client.send(frame)
            #expect(try client.readBytes(frame.count) == frame)
        }

        @Test func bytesSentBehindTheUpgradeRequestReachTheTunnel() async throws {
            let backend = try await RawBackend.start(.upgradeEcho)
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            // The first frame travels in the same write as the request, before the 101 exists: the proxy holds
            // it and forwards it once the tunnel is up, in order with the next one.
            let mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]
            let frames = ["one", "two"].map { text -> [UInt8] in
                let payload = Array(text.utf8).enumerated().map { $0.element ^ mask[$0.offset % 4] }
                return [0x81, 0x80 | UInt8(payload.count)] + mask + payload
            }
            let client = try proxy.client()
            try client.send(Array(("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8) + frames[0])
            #expect(try client.readResponse().status == 101)
            try client.send(frames[1])
            #expect(try client.readBytes(frames[0].count + frames[1].count) == frames[0] + frames[1])
        }
    }
}

/// The `/echo` body: request line, headers, blank line, body.
struct EchoedRequest {
    var line = ""
    var headers: [(String, String)] = []
    var body = ""

    init(_ text: String) {
        guard let split = text.range(of: "\n\n") else { return }
        let lines = text[..<split.lowerBound].split(separator: "\n")
        line = lines.first.map(String.init) ?? ""
        for header in lines.dropFirst() {
            guard let colon = header.firstIndex(of: ":") else { continue }
            headers.append((String(header[..<colon]), header[header.index(after: colon)...].trimmingSpaces()))
        }
        body = String(text[split.upperBound...])
    }

    func header(_ name: String) -> String? {
        let values = headers.filter { $0.0.lowercased() == name }.map(\.1)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}
