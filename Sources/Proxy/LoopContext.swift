import Balancer
import NIOCore

/// Everything one event loop owns: its upstream pools, request id counter and client connections.
/// Only code running on `eventLoop` touches it, so none of it needs a lock.
///
/// `@exclusivity(unchecked)` on the stored properties, as in `ProxyConnectionHandler`: one thread, and every access
/// that spans a call is a collection or generator method that calls out of nothing (the sweep's filter only reads
/// the pools' counters); pools, clients and log lines are acted on after the access ended.
final class LoopContext {
    let index: Int
    let eventLoop: any EventLoop
    let shared: ServerShared
    let statistics: LoopStatistics
    @exclusivity(unchecked) var requestIds: RequestIdGenerator
    @exclusivity(unchecked) private(set) var pools: [PoolKey: UpstreamPool] = [:]
    /// A direct-mapped cache in front of `pools`, by a hash of the address: a hit compares one key instead of
    /// hashing it with SipHash for the dictionary (about 300 instructions, on every pick).
    @exclusivity(unchecked) private var recentPools = [UpstreamPool?](repeating: nil, count: LoopContext.recentPoolSlots)
    static let recentPoolSlots = 64
    @exclusivity(unchecked) var clients: [ObjectIdentifier: ProxyConnectionHandler] = [:]
    @exclusivity(unchecked) var draining = false
    @exclusivity(unchecked) private var sweepTask: Scheduled<Void>? = nil
    /// Access-log lines formatted on this loop, not yet handed to the writer.
    @exclusivity(unchecked) private var logBuffer: [UInt8] = []
    @exclusivity(unchecked) private var logLines = 0
    /// Emptied tries lists of finished entries, kept for new entries (`takeTriesStorage`): one per request in
    /// flight at most, up to `maxSpareTries`.
    @exclusivity(unchecked) private var spareTries: [[AccessLogEntry.Try]] = []
    static let maxSpareTries = 1024
    /// What finished requests added to the metrics since the last hand-over to the observer.
    @exclusivity(unchecked) private var observed = RequestTally()
    @exclusivity(unchecked) private var logFlushTask: Scheduled<Void>? = nil
    static let logChunkBytes = 64 << 10

    /// Response head endings, built once: relaying a head adds one of these instead of rewriting it.
    let tailKeepAlive: ByteBuffer
    let tailKeepAlive10: ByteBuffer
    let tailClose: ByteBuffer

    init(index: Int, eventLoop: any EventLoop, shared: ServerShared, statistics: LoopStatistics = LoopStatistics()) {
        self.index = index
        self.statistics = statistics
        self.eventLoop = eventLoop
        self.direct = eventLoop as? DirectEventLoop
        self.shared = shared
        var generator = SystemRandomNumberGenerator()
        self.requestIds = RequestIdGenerator(using: &generator)
        let allocator = ByteBufferAllocator()
        self.tailKeepAlive = allocator.buffer(staticString: "Via: 1.1 switchyard\r\n\r\n")
        self.tailKeepAlive10 = allocator.buffer(staticString: "Via: 1.1 switchyard\r\nConnection: keep-alive\r\n\r\n")
        self.tailClose = allocator.buffer(staticString: "Via: 1.1 switchyard\r\nConnection: close\r\n\r\n")
    }

    /// The loop's time, for every timeout and timestamp of the proxy: real time on a real loop, and on
    /// `EmbeddedEventLoop` the time a test advances, so timeouts and the pool sweep are tested without waiting.
    var now: NIODeadline { direct?.roundTime ?? eventLoop.now }
    /// `eventLoop` when it is the proxy's own loop: its round's time is read without asking which thread runs
    /// (an atomic load and `pthread_self`, through the `EventLoop` witness, about a dozen times a request).
    private let direct: DirectEventLoop?

    func pool(for address: Address, tls: UpstreamTLS? = nil) -> UpstreamPool {
        let slot = LoopContext.recentSlot(address)
        if let recent = recentPools[slot], recent.address == address, recent.tls?.identity == tls?.identity {
            return recent
        }
        let key = PoolKey(address: address, tls: tls?.identity)
        let pool: UpstreamPool
        if let known = pools[key] {
            pool = known
        } else {
            pool = UpstreamPool(address: address, tls: tls, settings: shared.pool, eventLoop: eventLoop)
            pools[key] = pool
        }
        recentPools[slot] = pool
        return pool
    }

    /// The address's slot in `recentPools`: the top bits of a multiplicative hash of its IP and port.
    static func recentSlot(_ address: Address) -> Int {
        let bits: UInt64
        switch address.ip {
        case .v4(let value): bits = UInt64(value)
        case .v6(let high, let low): bits = high ^ (low &* 0x9E37_79B9_7F4A_7C15)
        }
        let mixed = (bits ^ UInt64(address.port) << 40) &* 0xFF51_AFD7_ED55_8CCD
        return Int(truncatingIfNeeded: mixed >> 58)  // 6 bits: recentPoolSlots == 64
    }

    /// Starts the periodic sweep that closes upstream connections idle past the pool's timeout.
    func startSweeping() {
        let interval: TimeAmount = max(TimeAmount.milliseconds(100), min(TimeAmount.seconds(5), TimeAmount.nanoseconds(shared.pool.idleTimeout.nanoseconds / 2)))
        sweepTask = eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            self.sweep()
            self.startSweeping()
        }
    }

    func stopSweeping() {
        sweepTask?.cancel()
        sweepTask = nil
        logFlushTask?.cancel()
        logFlushTask = nil
    }

    // MARK: Access log

    /// Formats `entry` into this loop's buffer and records it in the loop's tally for the observer; both go on at
    /// 64 KiB of lines, or within 100 ms.
    func log(_ entry: borrowing AccessLogEntry) {
        if let accessLog = shared.accessLog {
            if logBuffer.capacity == 0 { logBuffer.reserveCapacity(Self.logChunkBytes + 4096) }
            accessLog.format.write(entry, into: &logBuffer)
            logLines += 1
        }
        if shared.observes { observed.record(entry) }
        if logBuffer.count >= Self.logChunkBytes {
            flushLog()
        } else if logFlushTask == nil {
            logFlushTask = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
                self.logFlushTask = nil
                self.flushLog()
            }
        }
    }

    /// Storage for a new entry's tries: a finished entry's list, emptied (its capacity kept), so a request
    /// allocates none once the loop has seen as many requests in flight at once.
    func takeTriesStorage() -> [AccessLogEntry.Try] {
        spareTries.popLast() ?? []
    }

    /// Keeps a finished entry's tries list for a new entry (`log` copies what it needs out of the entry, so
    /// nothing else holds it).
    func recycleTriesStorage(_ tries: inout [AccessLogEntry.Try]) {
        guard tries.capacity > 0, tries.capacity <= 16, spareTries.count < Self.maxSpareTries else { return }
        tries.removeAll(keepingCapacity: true)
        spareTries.append(tries)
        tries = []
    }

    /// Hands the lines formatted so far to the writer, and the requests to the observer.
    func flushLog() {
        if let accessLog = shared.accessLog, logLines > 0 {
            accessLog.submit(logBuffer, lines: logLines)
            logBuffer = []
            logLines = 0
        }
        if let observer = shared.observer, !observed.isEmpty {
            observer.observe(observed)
            observed = RequestTally()
        }
    }

    private func sweep() {
        let now = self.now
        let deadline = now - shared.pool.idleTimeout
        for pool in pools.values { pool.sweep(idleBefore: deadline) }
        // Forget pools of addresses unused for a long while (they left DNS or the configuration). A pool with
        // a live connection (a long response, a WebSocket tunnel) is kept: forgetting it would lose its count
        // against `upstream_max_connections`.
        let forgetBefore = now - max(shared.pool.idleTimeout * 10, .minutes(10))
        func forgettable(_ pool: UpstreamPool) -> Bool { pool.live == 0 && pool.lastUsed < forgetBefore }
        if pools.count > 64 || pools.values.contains(where: forgettable) {
            pools = pools.filter { !forgettable($0.value) }
            recentPools = [UpstreamPool?](repeating: nil, count: LoopContext.recentPoolSlots)
        }
    }

    func closeIdleUpstreams() {
        for pool in pools.values { pool.closeAll() }
    }
}
