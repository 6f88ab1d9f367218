import TestSupport
import Balancer
import Foundation
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Request smuggling and resource exhaustion attempts: each is refused and the connection closed,
    /// and nothing reaches the backend.
    @Suite(.timeLimit(.minutes(1)))
    struct HostileClientTests {
        static let smuggling: [(name: String, request: String)] = [
            ("Content-Length with Transfer-Encoding",
             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("Transfer-Encoding with Content-Length",
             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
            ("conflicting Content-Length",
             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            ("repeated equal Content-Length",
             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
            ("Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"),
            ("negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
            ("obsolete line folding", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n"),
            ("invalid chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
            ("overflowing chunk size",
             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
            ("bare CR in a header", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\rtwo\r\n\r\n"),
            ("bare LF line endings", "GET / HTTP/1.1\nHost: a\nX-A: b\n\n"),
            ("bare LF inside the head", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"),
            ("Transfer-Encoding other than chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
            ("chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
            ("two codings", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
            ("repeated Transfer-Encoding",
             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"),
            ("NUL in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n"),
            ("two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            ("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"),
            ("invalid method token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
            ("HTTP/2 preface on HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("chunked HTTP/1.0 request",
             "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ]

        @Test(arguments: smuggling.indices)
        func refusesAmbiguousRequestsAndCloses(index: Int) async throws {
            let (name, request) = Self.smuggling[index]
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(request)
            let response = try client.readResponse()
            #expect(response.status == 400, "\(name)")
            #expect(response.header("connection") == "close", "\(name)")
            #expect(client.waitForClose(), "\(name): connection must be closed")
            #expect(backend.requestCount == 0, "\(name): nothing may reach the backend")
        }

        @Test func refusesASmugglingAttemptAfterAGoodPipelinedRequestInOrder() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send(
                "GET /slow?ms=100 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            )
            #expect(try client.readResponse().text == "slow")
            #expect(try client.readResponse().status == 400)
            #expect(client.waitForClose())
            #expect(backend.requestCount == 1)
        }

        @Test func refusesTooManyHeaderFieldsWith431() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.maxHeaderCount = 20
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let headers = (0..<30).map { "X-H\($0): v\r\n" }.joined()
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\(headers)\r\n")
            #expect(try client.readResponse().status == 431)
            #expect(client.waitForClose())

            let fine = try proxy.client()
            let few = (0..<10).map { "X-H\($0): v\r\n" }.joined()
            try fine.send("GET / HTTP/1.1\r\nHost: a\r\n\(few)\r\n")
            #expect(try fine.readResponse().status == 200)
        }

        @Test func refusesAnOversizedHeadWith431() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.maxHeaderBytes = 8 * 1024
            limits.maxURILength = 1024
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let big = String(repeating: "v", count: 20 * 1024)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(big)\r\n\r\n")
            #expect(try client.readResponse().status == 431)
            #expect(client.waitForClose())
            #expect(backend.requestCount == 0)
        }

        @Test func refusesAnOverlongURIWith414() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.maxURILength = 2048
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            // Slightly over the limit (the head completes) and far over it (the line never ends in time).
            for length in [3000, 200_000] {
                let client = try proxy.client()
                let path = "/" + String(repeating: "a", count: length)
                try? client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().status == 414, "URI of \(length) bytes")
                #expect(client.waitForClose())
            }
            #expect(backend.requestCount == 0)
        }

        @Test func refusesABodyOverTheRouteLimitWith413() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address], maxBodyBytes: 1000)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let declared = try proxy.client()
            try declared.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
            #expect(try declared.readResponse().status == 413)
            #expect(declared.waitForClose())
            #expect(backend.requestCount == 0)

            let streamed = try proxy.client()
            let chunk = String(repeating: "z", count: 600)
            try streamed.send("POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n")
            try? streamed.send("258\r\n\(chunk)\r\n")
            #expect(try streamed.readResponse().status == 413)
            #expect(streamed.waitForClose())

            let within = try proxy.client()
            try within.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "k", count: 1000))
            #expect(try within.readResponse().text == "received 1000")
        }

        @Test func closesASlowlorisHeadWith408() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.headerReadTimeout = .milliseconds(300)
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let started = ContinuousClock.now
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n")
            try await Task.sleep(for: .milliseconds(100))
            try client.send("X-Slow: 1\r\n")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(client.waitForClose())
            #expect(backend.requestCount == 0)
        }

        @Test func closesAStalledBodyWith408() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.bodyReadTimeout = .milliseconds(300)
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            let started = ContinuousClock.now
            try client.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(client.waitForClose())

            // A body that keeps arriving, however slowly, is not cut off.
            let steady = try proxy.client()
            try steady.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(150))
                try steady.send("x")
            }
            #expect(try steady.readResponse().text == "received 5")
        }

        @Test func closesAnIdleKeepAliveConnection() async throws {
            let backend = try await TestBackend.start(name: "a")
            var limits = ProxyLimits()
            limits.clientIdleTimeout = .milliseconds(300)
            let proxy = try await ProxyHarness.start(addresses: [backend.address], limits: limits)
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let started = ContinuousClock.now
            #expect(client.waitForClose())
            #expect(ContinuousClock.now - started < .seconds(2))
        }

        @Test func survivesGarbageWithoutMixingClients() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address], workers: 2)
            defer { Task { await proxy.stop(); await backend.stop() } }

            var generator = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let garbage = try proxy.client(timeoutSeconds: 2)
                let bytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try? garbage.send(bytes)
                let honest = try proxy.client()
                try honest.send("GET /echo?who=honest HTTP/1.1\r\nHost: a\r\n\r\n")
                let response = try honest.readResponse()
                #expect(EchoedRequest(response.text).line == "GET /echo?who=honest HTTP/1.1")
                _ = garbage.waitForClose()
            }
        }
    }
}
