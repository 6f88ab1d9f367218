import Balancer
import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import Proxy

/// The proxy's timeouts on the event loop's clock. Every timestamp the proxy keeps and every timer it arms comes
/// from its event loop, so on an `EmbeddedEventLoop` time moves only when a test advances it: each timeout is
/// checked at the instant it is due (nothing an instant before, the answer at it), and a minute-long timeout
/// takes no time to test.
@Suite("Proxy timeouts on the loop's clock")
struct ProxyTimeoutEmbeddedTests {
    typealias Relay = ConnectionRelayEmbeddedTests

    static func advance(_ rig: Relay.Rig, by amount: TimeAmount) {
        rig.client.embeddedEventLoop.advanceTime(by: amount)
    }

    /// Moves time to 1 ms before `due` from now and checks that `channel` got nothing and is open, then to
    /// `due`; returns what `channel` got then.
    static func written(on channel: EmbeddedChannel, at due: TimeAmount, _ rig: Relay.Rig,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        advance(rig, by: due - .milliseconds(1))
        #expect(try Relay.written(channel).isEmpty, "answered before it was due", sourceLocation: sourceLocation)
        #expect(channel.isActive, sourceLocation: sourceLocation)
        advance(rig, by: .milliseconds(1))
        return try Relay.written(channel)
    }

    @Test("a request head that stops arriving is answered 408 at the header read timeout, not an instant before")
    func headerReadTimeout() throws {
        let rig = try Relay.Rig(limits: ProxyLimits(headerReadTimeout: .seconds(10)))
        Self.advance(rig, by: .seconds(3))
        try rig.send("GET /slow HTTP/1.1\r\nHost: x\r\n")
        let text = try Self.written(on: rig.client, at: .seconds(10), rig)
        #expect(Relay.statuses(text) == [408], "\(text)")
        #expect(text.lowercased().contains("connection: close"), "\(text)")
        #expect(!rig.client.isActive)
        #expect(rig.selector.picks.withLockedValue { $0 } == 0, "a request that never arrived was routed")
        rig.finish()
    }

    @Test("a connection that sends nothing is closed at the idle timeout, without an answer")
    func idleConnectionClosed() throws {
        let limits = ProxyLimits(headerReadTimeout: .seconds(10), clientIdleTimeout: .seconds(30))
        let rig = try Relay.Rig(limits: limits)
        Self.advance(rig, by: .seconds(30) - .milliseconds(1))
        #expect(rig.client.isActive)
        Self.advance(rig, by: .milliseconds(1))
        #expect(!rig.client.isActive)
        #expect(try Relay.written(rig.client).isEmpty)
        rig.finish()
    }

    @Test("a keep-alive connection is idle from the end of its last response: closed at the idle timeout after it")
    func idleAfterResponse() throws {
        let rig = try Relay.Rig(limits: ProxyLimits(clientIdleTimeout: .seconds(30)))
        let upstream = try rig.idleUpstream()
        Self.advance(rig, by: .seconds(20))
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Relay.written(upstream.channel)
        Self.advance(rig, by: .seconds(5))
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(Relay.statuses(try Relay.written(rig.client)) == [200])
        // 25 s after the connection opened, so 5 s past an idle timeout counted from the open: still open.
        Self.advance(rig, by: .seconds(30) - .milliseconds(1))
        #expect(rig.client.isActive)
        Self.advance(rig, by: .milliseconds(1))
        #expect(!rig.client.isActive)
        rig.finish(upstream)
    }

    @Test("a request body that stops arriving: 408 at the body read timeout, and the upstream connection is closed, not pooled")
    func bodyReadTimeout() throws {
        let rig = try Relay.Rig(limits: ProxyLimits(bodyReadTimeout: .seconds(5)))
        let upstream = try rig.idleUpstream()
        try rig.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n1234")
        #expect(try Relay.written(upstream.channel).hasSuffix("1234"))
        Self.advance(rig, by: .seconds(4))
        try rig.send("56")
        // Progress restarts the count: 5 s from the last bytes, not from the head.
        let text = try Self.written(on: rig.client, at: .seconds(5), rig)
        #expect(Relay.statuses(text) == [408], "\(text)")
        #expect(!rig.client.isActive)
        #expect(!upstream.channel.isActive, "an upstream connection with half a body on it was kept")
        #expect(rig.pool.live == 0)
        rig.finish(upstream)
    }

    @Test("an upstream that does not answer: 504 at the service's read timeout, reported as a timeout, and the connection is not reused")
    func upstreamReadTimeout() throws {
        let rig = try Relay.Rig(readTimeout: .seconds(2))
        let upstream = try rig.idleUpstream()
        try rig.send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Relay.written(upstream.channel).hasPrefix("GET /quiet HTTP/1.1\r\n"))
        let text = try Self.written(on: rig.client, at: .seconds(2), rig)
        #expect(Relay.statuses(text) == [504], "\(text)")
        #expect(rig.selector.outcomes.withLockedValue { $0 } == [.timeout])
        #expect(!upstream.channel.isActive)
        // The client connection stays: the timeout was the upstream's.
        #expect(rig.client.isActive)
        rig.finish(upstream)
    }

    @Test("a slow upstream that keeps sending is not timed out: the read timeout counts silence, not the whole response")
    func upstreamReadTimeoutCountsSilence() throws {
        let rig = try Relay.Rig(readTimeout: .seconds(2))
        let upstream = try rig.idleUpstream()
        try rig.send("GET /drip HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Relay.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for byte in ["a", "b", "c", "d"] {
            Self.advance(rig, by: .milliseconds(1900))
            try upstream.send(byte)
        }
        Self.advance(rig, by: .milliseconds(1900))
        try upstream.send("e")
        let text = try Relay.written(rig.client)
        #expect(Relay.statuses(text) == [200], "\(text)")
        #expect(text.hasSuffix("abcde"), "\(text)")
        #expect(upstream.channel.isActive)
        #expect(rig.pool.idleCount == 1)
        rig.finish(upstream)
    }

    @Test("the pool sweep closes an upstream connection idle past the pool's idle timeout, and keeps a younger one")
    func poolSweepClosesIdleConnections() throws {
        let rig = try Relay.Rig(pool: PoolSettings(idleTimeout: .seconds(4)))
        rig.loop.startSweeping()
        defer { rig.loop.stopSweeping() }
        let upstream = try rig.idleUpstream()
        try rig.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Relay.written(upstream.channel)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Relay.statuses(try Relay.written(rig.client)) == [200])
        #expect(rig.pool.idleCount == 1)
        // The sweep runs every idleTimeout / 2 = 2 s; the connection was released at 0.
        Self.advance(rig, by: .seconds(4))
        #expect(upstream.channel.isActive, "closed before it had been idle for the idle timeout")
        Self.advance(rig, by: .seconds(2))
        #expect(!upstream.channel.isActive)
        #expect(rig.pool.idleCount == 0)
        #expect(rig.pool.live == 0)
        rig.finish(upstream)
    }

    /// A rig whose only upstream connection (the limit is one) is busy with a first request, and a second client
    /// connection on the same loop, as the listener sets one up, that has sent a request which must queue.
    static func queuedBehindFirst() throws -> (rig: Relay.Rig, upstream: Relay.Upstream, second: EmbeddedChannel) {
        let rig = try Relay.Rig(connectTimeout: .seconds(3), pool: PoolSettings(maxConnectionsPerAddress: 1))
        let upstream = try rig.idleUpstream()
        try rig.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try Relay.written(upstream.channel)
        let second = EmbeddedChannel(loop: rig.client.embeddedEventLoop)
        try second.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40001)).wait()
        try ProxyServer.configureClientPipeline(second, loop: rig.loop, limits: ProxyLimits())
        try second.writeInbound(ByteBuffer(string: "GET /second HTTP/1.1\r\nHost: x\r\n\r\n"))
        return (rig, upstream, second)
    }

    // The rig's selector, like the balancer, never picks an address the request already tried: a request that
    // passed over every address at its limit must pick again among those and wait, not get a 503 at once.
    @Test("a request queued at the connection limit waits the service's connect timeout, then gets a 503")
    func queueTimeout() throws {
        let (rig, upstream, second) = try Self.queuedBehindFirst()
        let text = try Self.written(on: second, at: .seconds(3), rig)
        #expect(Relay.statuses(text) == [503], "\(text)")
        #expect(text.contains("upstream connection limit reached"), "\(text)")
        // The first exchange is untouched and finishes normally.
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(Relay.statuses(try Relay.written(rig.client)) == [200])
        _ = try? second.finish()
        rig.finish(upstream)
    }

    @Test("a request queued at the connection limit is served on the connection the request before it frees")
    func queuedRequestGetsTheFreedConnection() throws {
        let (rig, upstream, second) = try Self.queuedBehindFirst()
        Self.advance(rig, by: .seconds(1))
        #expect(try Relay.written(second).isEmpty)
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
        rig.client.embeddedEventLoop.run()
        #expect(Relay.statuses(try Relay.written(rig.client)) == [200])
        #expect(try Relay.written(upstream.channel).hasPrefix("GET /second HTTP/1.1\r\n"))
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")
        let text = try Relay.written(second)
        #expect(Relay.statuses(text) == [200], "\(text)")
        #expect(text.hasSuffix("b"))
        // The queue timeout was cancelled: nothing more is written when it would have fired.
        Self.advance(rig, by: .seconds(5))
        #expect(try Relay.written(second).isEmpty)
        #expect(second.isActive)
        #expect(rig.pool.live == 1)
        _ = try? second.finish()
        rig.finish(upstream)
    }
}
