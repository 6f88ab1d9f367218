import Balancer
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// The client connection handler relaying to an upstream, with no socket at all: the upstream connection is a
/// second `EmbeddedChannel` on the client's `EmbeddedEventLoop`, put idle into the loop's pool beforehand, so
/// `attempt()` binds it synchronously. Request bytes written into the client channel come out of the upstream
/// channel, and response bytes written into the upstream channel come out of the client channel.
@Suite("Client connection handler relaying on EmbeddedChannel")
struct ConnectionRelayEmbeddedTests {
    /// One fixed address; a retry (the address already tried) finds nothing, so a failed try never reaches
    /// `ClientBootstrap` (which cannot run on an `EmbeddedEventLoop`). Counts picks and records reports.
    final class OneAddressSelector: AddressSelector {
        let address: Address
        let picks = NIOLockedValueBox(0)
        let outcomes = NIOLockedValueBox<[UpstreamOutcome]>([])

        init(address: Address) {
            self.address = address
        }

        func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
            picks.withLockedValue { $0 += 1 }
            return request.tried.contains(address) ? nil : UpstreamPick(address)
        }

        func report(_ pick: UpstreamPick, outcome: UpstreamOutcome) {
            outcomes.withLockedValue { $0.append(outcome) }
        }
    }

    /// An upstream connection: its channel (what the proxy sent is its outbound) and its handler.
    struct Upstream {
        let channel: EmbeddedChannel
        let connection: UpstreamConnection

        /// The upstream sends `text`.
        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }
    }

    /// A client connection set up as the listener does, routed (every request) to one address.
    struct Rig {
        let client: EmbeddedChannel
        let loop: LoopContext
        let selector: OneAddressSelector
        let address: Address

        init(retries: Int = 0, maxBodyBytes: Int64? = nil, limits: ProxyLimits = ProxyLimits(),
             connectTimeout: TimeAmount = .seconds(60), readTimeout: TimeAmount = .seconds(60),
             pool: PoolSettings = PoolSettings()) throws {
            address = Address("10.9.8.7:8080")!
            selector = OneAddressSelector(address: address)
            let service = ProxyService(name: "svc", connectTimeout: connectTimeout, readTimeout: readTimeout,
                                       retries: retries, selector: selector)
            let router = StaticRouter(service: service, name: "r", maxBodyBytes: maxBodyBytes)
            client = EmbeddedChannel()
            let shared = ServerShared(configuration: ProxyConfiguration(router: router, limits: limits),
                                      pool: pool, logger: Logger(label: "test"), workers: 1)
            loop = LoopContext(index: 0, eventLoop: client.embeddedEventLoop, shared: shared)
            // Connected first, as an accepted channel is: the handler reads the client's address when added.
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
            try ProxyServer.configureClientPipeline(client, loop: loop, limits: limits)
        }

        var handler: ProxyConnectionHandler {
            get throws { try client.pipeline.syncOperations.handler(type: ProxyConnectionHandler.self) }
        }

        var pool: UpstreamPool { loop.pool(for: address, tls: nil) }

        /// An open upstream connection on the same event loop, counted by the pool and idle in it.
        func idleUpstream() throws -> Upstream {
            let connection = UpstreamConnection(address: address)
            let channel = EmbeddedChannel(loop: client.embeddedEventLoop)
            try channel.pipeline.syncOperations.addHandler(connection)
            try channel.connect(to: SocketAddress(ipAddress: "10.9.8.7", port: 8080)).wait()
            pool.connectionStarted()
            connection.pool = pool
            pool.release(connection, now: client.embeddedEventLoop.now)
            return Upstream(channel: channel, connection: connection)
        }

        /// The client sends `text`.
        func send(_ text: String) throws {
            try client.writeInbound(ByteBuffer(string: text))
        }

        func finish(_ upstreams: Upstream...) {
            _ = try? client.finish()
            for upstream in upstreams { _ = try? upstream.channel.finish() }
        }
    }

    /// Everything written outbound on `channel` so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    static func statuses(_ text: String) -> [Int] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    /// Head (through the blank line, exclusive) and the bytes after it; nil without a complete head.
    static func split(_ text: String) -> (head: String, body: [UInt8])? {
        let bytes = Array(text.utf8)
        let marker = Array("\r\n\r\n".utf8)
        guard bytes.count >= marker.count else { return nil }
        for i in 0...(bytes.count - marker.count) where Array(bytes[i..<(i + marker.count)]) == marker {
            return (String(decoding: bytes[..<i], as: UTF8.self), Array(bytes[(i + marker.count)...]))
        }
        return nil
    }

    /// The header lines of `head` (without the request or status line), as (lower-cased name, value).
    static func headers(_ head: String) -> [(name: String, value: String)] {
        head.components(separatedBy: "\r\n").dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    static func values(_ name: String, in head: String) -> [String] {
        headers(head).filter { $0.name == name }.map(\.value)
    }

    /// Decodes a complete chunked body (no trailers); nil when it is not one.
    static func dechunk(_ body: [UInt8]) -> String? {
        var rest = body[...]
        var out: [UInt8] = []
        while true {
            guard let cr = rest.firstIndex(of: UInt8(ascii: "\r")), rest.index(after: cr) < rest.endIndex,
                  rest[rest.index(after: cr)] == UInt8(ascii: "\n"),
                  let size = Int(String(decoding: rest[..<cr], as: UTF8.self), radix: 16)
            else { return nil }
            rest = rest[(cr + 2)...]
            if size == 0 { return Array(rest) == Array("\r\n".utf8) ? String(decoding: out, as: UTF8.self) : nil }
            guard rest.count >= size + 2 else { return nil }
            out += rest.prefix(size)
            rest = rest.dropFirst(size)
            guard Array(rest.prefix(2)) == Array("\r\n".utf8) else { return nil }
            rest = rest.dropFirst(2)
        }
    }

    // MARK: 1. A relayed GET, and the connection reused

    @Test("a GET is relayed: the upstream sees the request line, Host and forwarding headers; the client gets the 200 and its body; both sides are idle again and the pooled connection serves the next request")
    func getRelayedAndConnectionReused() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        #expect(upstream.connection.inPool)

        try rig.send("GET /a?q=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n\r\n")
        let sent = try Self.written(upstream.channel)
        let request = try #require(Self.split(sent), "\(sent.debugDescription)")
        #expect(request.head.hasPrefix("GET /a?q=1 HTTP/1.1\r\nHost: example.test\r\n"), "\(request.head)")
        #expect(request.body.isEmpty)
        #expect(Self.values("accept", in: request.head) == ["*/*"])
        #expect(Self.values("x-forwarded-for", in: request.head) == ["127.0.0.1"])
        #expect(Self.values("x-forwarded-proto", in: request.head) == ["http"])
        #expect(Self.values("x-forwarded-host", in: request.head) == ["example.test"])
        #expect(Self.values("via", in: request.head) == ["1.1 switchyard"])
        #expect(Self.values("x-request-id", in: request.head).count == 1)
        #expect(Self.values("traceparent", in: request.head).count == 1)
        // Hop-by-hop: the client's Connection header and the header it names stay on the client's hop.
        #expect(Self.values("connection", in: request.head).isEmpty, "\(request.head)")
        #expect(Self.values("x-hop", in: request.head).isEmpty, "\(request.head)")
        #expect(try Self.written(rig.client).isEmpty, "nothing goes to the client before the upstream answers")
        #expect(try rig.handler.state.stage == .forwarding)
        let handler = try rig.handler
        #expect(upstream.connection.owner === handler)
        #expect(!upstream.connection.inPool)

        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nX-Up: 1\r\n\r\nhello")
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(response.head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
        #expect(Self.values("content-length", in: response.head) == ["5"])
        #expect(Self.values("x-up", in: response.head) == ["1"])
        #expect(Self.values("via", in: response.head) == ["1.1 switchyard"])
        #expect(Self.values("keep-alive", in: response.head).isEmpty, "hop-by-hop response header relayed: \(response.head)")
        #expect(Self.values("connection", in: response.head).isEmpty, "\(response.head)")
        #expect(rig.client.isActive)
        #expect(try rig.handler.state.stage == .idle)
        #expect(try rig.handler.state.isIdle)
        #expect(upstream.connection.inPool, "the upstream connection went back to the pool")
        #expect(upstream.connection.owner == nil)
        #expect(upstream.channel.isActive)
        let outcomes = rig.selector.outcomes.withLockedValue { $0 }
        #expect(outcomes.count == 1)
        if case .success = outcomes.first {} else { Issue.record("outcome \(outcomes)") }

        // The next request reuses the same upstream channel.
        try rig.send("GET /b HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let second = try Self.written(upstream.channel)
        #expect(second.hasPrefix("GET /b HTTP/1.1\r\nHost: example.test\r\n"), "\(second.debugDescription)")
        #expect(try rig.handler.state.stage == .forwarding)
        try upstream.send("HTTP/1.1 204 No Content\r\n\r\n")
        let secondAnswer = try Self.written(rig.client)
        #expect(Self.statuses(secondAnswer) == [204], "\(secondAnswer)")
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        #expect(upstream.connection.requestsServed == 2)
        #expect(rig.pool.live == 1, "one connection counted, no other opened")
        #expect(rig.pool.opened == 1)
        rig.finish(upstream)
    }

    @Test("a chunked response is relayed unchanged to an HTTP/1.1 client, in pieces as it arrives")
    func chunkedResponseRelayed() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)

        try upstream.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        let first = try Self.written(rig.client)
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(first)")
        #expect(first.hasSuffix("\r\n\r\n5\r\nhello\r\n"), "\(first.debugDescription)")
        #expect(try rig.handler.state.stage == .responding)

        try upstream.send("6\r\n world\r\n0\r\n\r\n")
        let rest = try Self.written(rig.client)
        #expect(rest == "6\r\n world\r\n0\r\n\r\n", "\(rest.debugDescription)")
        let whole = try #require(Self.split(first + rest))
        #expect(Self.dechunk(whole.body) == "hello world")
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        #expect(rig.client.isActive)
        rig.finish(upstream)
    }

    // MARK: 2. Request bodies streamed

    @Test("a POST body split across client writes (Content-Length) streams upstream in order as it arrives, then the response comes back")
    func contentLengthBodyStreamed() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()

        try rig.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        let first = try Self.written(upstream.channel)
        let request = try #require(Self.split(first), "\(first.debugDescription)")
        #expect(request.head.hasPrefix("POST /upload HTTP/1.1\r\n"))
        #expect(Self.values("content-length", in: request.head) == ["10"])
        #expect(Self.values("transfer-encoding", in: request.head).isEmpty)
        #expect(String(decoding: request.body, as: UTF8.self) == "ab")
        #expect(try rig.handler.state.requestComplete == false)

        try rig.send("cde")
        #expect(try Self.written(upstream.channel) == "cde", "each part goes upstream as it arrives")
        try rig.send("fghij")
        #expect(try Self.written(upstream.channel) == "fghij")
        #expect(try rig.handler.state.requestWasSent)
        #expect(try Self.written(rig.client).isEmpty)

        try upstream.send("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [201], "\(answer)")
        #expect(answer.hasSuffix("\r\n\r\nok"))
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        #expect(rig.client.isActive)
        rig.finish(upstream)
    }

    @Test("a chunked POST body split mid-chunk across client writes reaches the upstream chunked, whole and in order")
    func chunkedBodyStreamed() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        let parts = [
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            "c\r\n4\r\nde",
            "fg\r\n1",
            "0\r\n0123456789abcdef\r\n",
            "0\r\n\r\n",
        ]
        var sent = ""
        for (index, part) in parts.enumerated() {
            try rig.send(part)
            sent += try Self.written(upstream.channel)
            if index < parts.count - 1 {
                #expect(!sent.hasSuffix("0\r\n\r\n"), "the body ended upstream early: \(sent.debugDescription)")
            }
        }
        let request = try #require(Self.split(sent), "\(sent.debugDescription)")
        #expect(request.head.hasPrefix("POST /upload HTTP/1.1\r\n"))
        #expect(Self.values("transfer-encoding", in: request.head) == ["chunked"])
        #expect(Self.values("content-length", in: request.head).isEmpty)
        #expect(Self.dechunk(request.body) == "abcdefg0123456789abcdef", "\(String(decoding: request.body, as: UTF8.self).debugDescription)")
        #expect(try rig.handler.state.requestWasSent)

        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [200], "\(answer)")
        #expect(answer.hasSuffix("done"))
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        rig.finish(upstream)
    }

    // MARK: 3. Pipelining

    @Test("two pipelined requests in one write: the second goes upstream only after the first response ended, and the answers arrive in order")
    func pipelinedRequestsWaitTheirTurn() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()

        try rig.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try Self.written(upstream.channel)
        #expect(first.hasPrefix("GET /1 HTTP/1.1\r\n"), "\(first.debugDescription)")
        #expect(!first.contains("GET /2"), "the second request went upstream before the first was answered")
        #expect(try rig.handler.state.waiting.count > 0)

        // The first response, in two pieces: the second request waits for its end.
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfir")
        #expect(try Self.written(upstream.channel).isEmpty, "the second request went upstream mid-response")
        try upstream.send("st1")
        let answers = try Self.written(rig.client)
        #expect(Self.statuses(answers) == [200])
        #expect(answers.hasSuffix("first1"))

        let second = try Self.written(upstream.channel)
        #expect(second.hasPrefix("GET /2 HTTP/1.1\r\n"), "\(second.debugDescription)")
        #expect(try rig.handler.state.stage == .forwarding)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsecond2")
        let later = try Self.written(rig.client)
        #expect(Self.statuses(later) == [200])
        #expect(later.hasSuffix("second2"))
        #expect(try rig.handler.state.isIdle)
        #expect(upstream.connection.inPool)
        #expect(rig.selector.picks.withLockedValue { $0 } == 2)
        rig.finish(upstream)
    }

    // MARK: 4. Upstream failures

    @Test("the upstream closes before any response byte on a GET with retries: the handler tries again, finds no other address, and answers 502; the connection stays usable")
    func upstreamClosedBeforeResponseIsRetriedThen502() throws {
        let rig = try Rig(retries: 2)
        let upstream = try rig.idleUpstream()
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(upstream.channel).hasPrefix("GET /a HTTP/1.1\r\n"))

        try upstream.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [502], "\(answer)")
        #expect(answer.contains("upstream closed the connection"), "the client hears the last try's failure: \(answer)")
        #expect(answer.lowercased().contains("x-request-id:"), "\(answer)")
        #expect(rig.selector.picks.withLockedValue { $0 } == 2, "a second pick was asked for (the retry)")
        #expect(rig.selector.outcomes.withLockedValue { $0 } == [.failure])
        #expect(rig.client.isActive, "a GET's failure keeps the client connection")
        #expect(try rig.handler.state.stage == .idle)
        #expect(try rig.handler.state.isIdle)
        #expect(try rig.handler.exchange.upstream == nil)
        #expect(rig.pool.take() == nil, "the closed connection is not pooled")
        #expect(rig.pool.live == 0)

        // The connection serves the next request over a fresh upstream connection.
        let fresh = try rig.idleUpstream()
        try rig.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(fresh.channel).hasPrefix("GET /b HTTP/1.1\r\n"))
        try fresh.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.statuses(try Self.written(rig.client)) == [200])
        #expect(try rig.handler.state.stage == .idle)
        rig.finish(upstream, fresh)
    }

    @Test("with retries 0, an upstream error before the response answers 502 at once (one pick)")
    func upstreamErrorWithoutRetries() throws {
        struct Broken: Error {}
        let rig = try Rig(retries: 0)
        let upstream = try rig.idleUpstream()
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)

        upstream.channel.pipeline.fireErrorCaught(Broken())
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [502], "\(answer)")
        #expect(answer.contains("upstream connection error"), "\(answer)")
        #expect(rig.selector.picks.withLockedValue { $0 } == 1)
        #expect(!upstream.channel.isActive, "a failed upstream connection is closed")
        #expect(try rig.handler.state.stage == .idle)
        #expect(rig.client.isActive)
        #expect(rig.pool.take() == nil)
        rig.finish(upstream)
    }

    @Test("a POST whose upstream closes before answering is not retried even with retries left: 502 at once")
    func postNotRetried() throws {
        let rig = try Rig(retries: 3)
        let upstream = try rig.idleUpstream()
        try rig.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(try Self.written(upstream.channel).hasSuffix("\r\n\r\nabc"))

        try upstream.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [502], "\(answer)")
        #expect(rig.selector.picks.withLockedValue { $0 } == 1, "a POST must not be sent twice")
        #expect(rig.client.isActive, "the request was complete: the connection is kept")
        #expect(try rig.handler.state.stage == .idle)
        rig.finish(upstream)
    }

    @Test("an invalid response head answers 502 and the upstream connection is not reused")
    func invalidResponse() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("SPDY/9 200 OK\r\n\r\n")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [502], "\(answer)")
        #expect(answer.contains("invalid upstream response"), "\(answer)")
        #expect(!upstream.channel.isActive)
        #expect(try rig.handler.state.stage == .idle)
        #expect(rig.pool.take() == nil)
        rig.finish(upstream)
    }

    @Test("the upstream closes mid-body: the client gets what was relayed, no error answer after it, and the connection closes")
    func upstreamClosedMidResponse() throws {
        let rig = try Rig(retries: 2)
        let upstream = try rig.idleUpstream()
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        let relayed = try Self.written(rig.client)
        #expect(relayed.hasSuffix("\r\n\r\npartial"), "\(relayed.debugDescription)")
        #expect(try rig.handler.state.stage == .responding)

        try upstream.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        let after = try Self.written(rig.client)
        #expect(Self.statuses(after).isEmpty, "an answer written into a started response: \(after)")
        #expect(!rig.client.isActive, "a truncated response must end the client connection")
        #expect(rig.selector.picks.withLockedValue { $0 } == 1, "no retry once a response byte went out")
        rig.finish(upstream)
    }

    // MARK: 5. Upgrade

    @Test("a 101 to an upgrade request turns the exchange into a tunnel: raw bytes flow both ways, including bytes the client sent early")
    func switchingProtocolsTunnels() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\nearly")
        let sent = try Self.written(upstream.channel)
        let request = try #require(Self.split(sent), "\(sent.debugDescription)")
        #expect(Self.values("connection", in: request.head).map { $0.lowercased() } == ["upgrade"], "\(request.head)")
        #expect(Self.values("upgrade", in: request.head) == ["websocket"])
        #expect(Self.values("sec-websocket-key", in: request.head) == ["k"])
        #expect(request.body.isEmpty, "bytes after the upgrade request went upstream before the 101")

        try upstream.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        let switched = try Self.written(rig.client)
        let response = try #require(Self.split(switched), "\(switched.debugDescription)")
        #expect(response.head.hasPrefix("HTTP/1.1 101 "))
        #expect(Self.values("connection", in: response.head).map { $0.lowercased() } == ["upgrade"], "\(response.head)")
        #expect(Self.values("upgrade", in: response.head) == ["websocket"])
        #expect(try rig.handler.state.stage == .tunnel)
        #expect(try Self.written(upstream.channel) == "early", "the bytes that waited follow the 101")

        try rig.send("\u{1}from-client")
        #expect(try Self.written(upstream.channel) == "\u{1}from-client")
        try upstream.send("GET / HTTP/1.1\r\n\r\n")  // not a response any more: raw bytes
        #expect(try Self.written(rig.client) == "GET / HTTP/1.1\r\n\r\n")
        try rig.send("HTTP/1.1 200 OK\r\n\r\n")  // not a request any more either
        #expect(try Self.written(upstream.channel) == "HTTP/1.1 200 OK\r\n\r\n")
        #expect(try rig.handler.state.stage == .tunnel)
        #expect(rig.client.isActive)

        // The upstream ends the tunnel: the client connection ends too, and the connection is never pooled.
        try upstream.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        #expect(!rig.client.isActive)
        #expect(rig.pool.take() == nil)
        rig.finish(upstream)
    }

    @Test("an upgrade request the upstream declines (200): the response is relayed, then the connection closes")
    func upgradeDeclined() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(response.head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(Self.values("connection", in: response.head) == ["close"], "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "no")
        #expect(!rig.client.isActive)
        rig.finish(upstream)
    }

    // MARK: 6. Closing rules

    @Test("an HTTP/1.0 client without keep-alive: the response says Connection: close and the connection closes; the upstream connection is pooled")
    func http10ClientCloses() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
        let sent = try Self.written(upstream.channel)
        #expect(sent.hasPrefix("GET /old HTTP/1.1\r\n"), "requests go upstream as HTTP/1.1: \(sent.debugDescription)")
        #expect(Self.values("via", in: sent) == ["1.0 switchyard"])

        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(Self.values("connection", in: response.head) == ["close"], "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "old")
        #expect(!rig.client.isActive)
        #expect(upstream.connection.inPool, "the upstream's keep-alive is its own hop")
        #expect(upstream.channel.isActive)
        rig.finish(upstream)
    }

    @Test("an HTTP/1.1 client sending Connection: close gets Connection: close and the connection closes")
    func clientConnectionClose() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let sent = try Self.written(upstream.channel)
        #expect(Self.values("connection", in: sent).isEmpty, "the client's Connection header is hop-by-hop: \(sent)")
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.values("connection", in: answer) == ["close"], "\(answer)")
        #expect(!rig.client.isActive)
        #expect(upstream.connection.inPool)
        rig.finish(upstream)
    }

    @Test("an upstream's Connection: close ends the upstream connection, not the client's (hop-by-hop)")
    func upstreamConnectionClose() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [200])
        #expect(answer.hasSuffix("hi"))
        #expect(Self.values("connection", in: answer).isEmpty, "\(answer)")
        #expect(!upstream.channel.isActive, "a connection the upstream said it closes is closed, not pooled")
        #expect(!upstream.connection.inPool)
        #expect(rig.pool.take() == nil)
        #expect(rig.client.isActive)
        #expect(try rig.handler.state.stage == .idle)
        rig.finish(upstream)
    }

    @Test("a response delimited by the upstream's close is relayed with Connection: close, and the client connection closes after it")
    func closeDelimitedResponse() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\n\r\nuntil ")
        try upstream.send("close")
        let relayed = try Self.written(rig.client)
        let response = try #require(Self.split(relayed), "\(relayed.debugDescription)")
        #expect(Self.values("connection", in: response.head) == ["close"], "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "until close")
        #expect(rig.client.isActive, "the body is not over until the upstream closes")

        try upstream.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        #expect(Self.statuses(try Self.written(rig.client)).isEmpty)
        #expect(!rig.client.isActive)
        rig.finish(upstream)
    }

    // MARK: 7. Early response

    @Test("the upstream answers 413 while the client is still sending the body: the answer is relayed, the client connection closes, and the upstream connection is not reused")
    func earlyResponseWhileBodyArrives() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
        #expect(try Self.written(upstream.channel).hasSuffix("\r\n\r\n0123456789"))

        try upstream.send("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(response.head.hasPrefix("HTTP/1.1 413 "), "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "too big!")
        #expect(!rig.client.isActive, "the rest of the body cannot be framed as a request: the connection ends")
        #expect(!upstream.channel.isActive, "an upstream connection with a request half sent is never reused")
        #expect(rig.pool.take() == nil)
        let outcomes = rig.selector.outcomes.withLockedValue { $0 }
        #expect(outcomes.count == 1)
        if case .httpStatus(413, _) = outcomes.first {} else { Issue.record("outcome \(outcomes)") }

        // Whatever the client still sends is not relayed anywhere.
        try? rig.send("more body")
        #expect(try Self.written(upstream.channel).isEmpty)
        rig.finish(upstream)
    }

    @Test("an interim 100 Continue is relayed to an HTTP/1.1 client before the final response")
    func continueRelayed() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 100 Continue\r\n\r\n")
        #expect(try Self.written(rig.client) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(try rig.handler.state.stage == .forwarding, "an interim response does not start the final one")
        try rig.send("data")
        #expect(try Self.written(upstream.channel) == "data")
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Self.statuses(try Self.written(rig.client)) == [200])
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        rig.finish(upstream)
    }

    // MARK: More

    @Test("an HTTP/1.0 client gets a chunked response de-chunked: no Transfer-Encoding, the data only, then the connection closes")
    func chunkedResponseToHTTP10Client() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /c HTTP/1.0\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(Self.values("transfer-encoding", in: response.head).isEmpty, "\(response.head)")
        #expect(Self.values("connection", in: response.head) == ["close"], "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "abcde")
        #expect(!rig.client.isActive)
        #expect(upstream.connection.inPool, "the upstream's chunked response ended cleanly")
        rig.finish(upstream)
    }

    @Test("a HEAD response's Content-Length announces no body: the exchange ends at the head and the next request is served")
    func headRequest() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(upstream.channel).hasPrefix("HEAD /h HTTP/1.1\r\n"))
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(Self.values("content-length", in: response.head) == ["1234"])
        #expect(response.body.isEmpty)
        #expect(try rig.handler.state.stage == .idle)
        #expect(upstream.connection.inPool)
        try rig.send("GET /g HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(upstream.channel).hasPrefix("GET /g HTTP/1.1\r\n"))
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ng")
        #expect(try Self.written(rig.client).hasSuffix("\r\n\r\ng"))
        rig.finish(upstream)
    }

    @Test("a request pipelined behind one that fails with 502 is still served, over another pooled connection")
    func pipelinedAfterFailure() throws {
        let rig = try Rig(retries: 1)
        let spare = try rig.idleUpstream()
        let failing = try rig.idleUpstream()  // released last: taken first
        try rig.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(failing.channel).hasPrefix("GET /1 "))
        #expect(try Self.written(spare.channel).isEmpty)

        try failing.channel.close().wait()
        rig.client.embeddedEventLoop.run()
        let second = try Self.written(spare.channel)
        #expect(second.hasPrefix("GET /2 HTTP/1.1\r\n"), "\(second.debugDescription)")
        #expect(!second.contains("GET /1"), "the failed request was retried on the same address")
        try spare.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
        let answers = try Self.written(rig.client)
        #expect(Self.statuses(answers) == [502, 200], "\(answers)")
        #expect(answers.hasSuffix("two"))
        #expect(try rig.handler.state.isIdle)
        #expect(rig.client.isActive)
        rig.finish(spare, failing)
    }

    @Test("the client going away mid-exchange closes the bound upstream connection instead of pooling it")
    func clientGoneMidExchange() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        try rig.client.close().wait()
        rig.client.embeddedEventLoop.run()
        #expect(!upstream.channel.isActive, "a connection mid-response cannot carry another request")
        #expect(rig.pool.take() == nil)
        #expect(rig.pool.live == 0)
        _ = try? upstream.channel.finish()
    }

    @Test("bytes from an upstream while it sits idle in the pool: it is closed and leaves the pool")
    func strayBytesOnIdleConnection() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        rig.client.embeddedEventLoop.run()
        #expect(!upstream.channel.isActive)
        #expect(!upstream.connection.inPool)
        #expect(rig.pool.take() == nil)
        #expect(rig.pool.live == 0)
        #expect(try Self.written(rig.client).isEmpty)
        rig.finish(upstream)
    }

    @Test("a body over the route's limit, streamed: the request is cut off with 413 and the upstream connection closed")
    func bodyOverLimitWhileStreaming() throws {
        let rig = try Rig(maxBodyBytes: 8)
        let upstream = try rig.idleUpstream()
        try rig.send("POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n")
        #expect(try Self.written(upstream.channel).hasSuffix("abcde\r\n"))
        try rig.send("5\r\nfghij\r\n")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        #expect(Self.statuses(answer) == [413], "\(answer)")
        #expect(!upstream.channel.isActive)
        #expect(!(try Self.written(upstream.channel)).contains("fghij"), "the part over the limit went upstream")
        #expect(!rig.client.isActive)
        rig.finish(upstream)
    }

    @Test("a response that starts before the request body ended says Connection: close (the body might never end); the rest of the body still goes upstream, the upstream connection is kept, the client's ends after the response")
    func responseStartsBeforeBodyEnds() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok")
        #expect(try rig.handler.state.stage == .responding)
        try rig.send("def")
        #expect(try Self.written(upstream.channel) == "def")
        #expect(try rig.handler.state.requestWasSent)
        try upstream.send("!!")
        rig.client.embeddedEventLoop.run()
        let answer = try Self.written(rig.client)
        let response = try #require(Self.split(answer), "\(answer.debugDescription)")
        #expect(response.head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(Self.values("connection", in: response.head) == ["close"], "\(response.head)")
        #expect(String(decoding: response.body, as: UTF8.self) == "ok!!")
        #expect(!rig.client.isActive)
        #expect(upstream.connection.inPool, "the upstream got the whole request and answered it: reusable")
        rig.finish(upstream)
    }

    @Test("the client closing a tunnel closes the upstream side")
    func clientClosesTunnel() throws {
        let rig = try Rig()
        let upstream = try rig.idleUpstream()
        try rig.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        _ = try Self.written(upstream.channel)
        try upstream.send("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nhi")
        let switched = try Self.written(rig.client)
        #expect(switched.hasSuffix("\r\n\r\nhi"), "bytes behind the 101 in the same read are relayed: \(switched.debugDescription)")
        #expect(try rig.handler.state.stage == .tunnel)
        try rig.client.close().wait()
        rig.client.embeddedEventLoop.run()
        #expect(!upstream.channel.isActive)
        #expect(rig.pool.take() == nil)
        _ = try? upstream.channel.finish()
    }
}
