import Balancer
import DNSWire
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// What an event loop keeps between requests: the access-log entries' tries lists, reused instead of allocated.
@Suite("Loop context")
struct LoopContextTests {
    struct NoRoutes: ProxyRouter {
        func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool,
                   clientIP: IPAddress?) -> ProxyRoute? { nil }
    }

    /// A loop context on an `EmbeddedEventLoop`, with no routes.
    static func loopContext() -> LoopContext {
        let shared = ServerShared(configuration: ProxyConfiguration(router: NoRoutes(), limits: ProxyLimits()),
                                  pool: PoolSettings(), logger: Logger(label: "test"), workers: 1)
        return LoopContext(index: 0, eventLoop: EmbeddedEventLoop(), shared: shared)
    }

    @Test("a finished entry's tries list comes back empty, with its capacity, for the next entry; at most 1,024 are kept")
    func triesListsAreReused() throws {
        let loop = Self.loopContext()
        let a = try #require(Address("10.0.0.1:80"))
        #expect(loop.takeTriesStorage().capacity == 0, "nothing kept yet")
        var finished = [AccessLogEntry.Try(address: a, outcome: "failed"), AccessLogEntry.Try(address: a, outcome: "ok")]
        loop.recycleTriesStorage(&finished)
        #expect(finished.isEmpty)
        let reused = loop.takeTriesStorage()
        #expect(reused.isEmpty && reused.capacity >= 2, "emptied, capacity kept")
        #expect(loop.takeTriesStorage().capacity == 0, "one list was kept, and it is taken")
        // Requests in flight at once each hold a list; the loop keeps as many as come back, up to its bound.
        for _ in 0..<(LoopContext.maxSpareTries + 10) {
            var list = [AccessLogEntry.Try(address: a, outcome: "ok")]
            loop.recycleTriesStorage(&list)
        }
        var kept = 0
        while loop.takeTriesStorage().capacity > 0 { kept += 1 }
        #expect(kept == LoopContext.maxSpareTries)
    }

    @Test("one pool per address and TLS identity, through the slot cache: addresses sharing a slot keep their own pools")
    func poolsByAddressThroughTheSlotCache() throws {
        let loop = Self.loopContext()
        let first = try #require(Address("10.0.0.1:80"))
        // Another IPv4 address and an IPv6 one in the same slot as `first`.
        let v4 = (2...5_000).lazy.compactMap { Address(ip: .v4(0x0A00_0000 | UInt32($0)), port: 80) }
            .first { LoopContext.recentSlot($0) == LoopContext.recentSlot(first) }
        let v6 = (1...5_000).lazy.map { Address(ip: .v6(0xFD00 << 48, UInt64($0)), port: 443) }
            .first { LoopContext.recentSlot($0) == LoopContext.recentSlot(first) }
        let sameSlot = try [#require(v4), #require(v6)]
        let pool = loop.pool(for: first)
        #expect(loop.pool(for: first) === pool, "a hit")
        var others: [UpstreamPool] = []
        for address in sameSlot {
            let other = loop.pool(for: address)
            #expect(other !== pool && other.address == address)
            others.append(other)
        }
        #expect(loop.pool(for: first) === pool, "the slot was taken by another address: found in the dictionary")
        for (address, other) in zip(sameSlot, others) { #expect(loop.pool(for: address) === other) }
        #expect(loop.pool(for: try #require(Address("10.0.0.1:81"))) !== pool, "another port, another pool")
        #expect(loop.pools.count == 4)
        // Slots spread: 1,000 consecutive IPv4 addresses of one port fill most of the 64 slots.
        let slots = Set((1...1_000).map { LoopContext.recentSlot(Address(ip: .v4(0x0A01_0000 | UInt32($0)), port: 8080)) })
        #expect(slots.count >= 60)
    }
}
