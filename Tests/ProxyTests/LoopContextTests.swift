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

    @Test("a finished entry's tries list comes back empty, with its capacity, for the next entry; at most 1,024 are kept")
    func triesListsAreReused() throws {
        let shared = ServerShared(configuration: ProxyConfiguration(router: NoRoutes(), limits: ProxyLimits()),
                                  pool: PoolSettings(), logger: Logger(label: "test"), workers: 1)
        let loop = LoopContext(index: 0, eventLoop: EmbeddedEventLoop(), shared: shared)
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
}
