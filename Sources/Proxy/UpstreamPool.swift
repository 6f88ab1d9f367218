import Balancer
import NIOCore

/// Idle keep-alive connections to one address, owned by one event loop (no lock: only that loop touches it).
final class UpstreamPool {
    let address: Address
    /// TLS for connections of this pool (https services); nil for plain HTTP.
    let tls: UpstreamTLS?
    /// Resolved once: connecting is the slow path, but parsing the text each time is needless.
    let socketAddress: SocketAddress?
    private(set) var idle: [UpstreamConnection] = []
    private let settings: PoolSettings
    /// Connections opened by this pool over its lifetime; tests and stats read it.
    var opened = 0
    /// Connections to this address now: connecting, busy or idle (for `maxConnectionsPerAddress`).
    private(set) var live = 0
    /// When a connection was last released here; pools of addresses gone from DNS are dropped by it.
    private(set) var lastUsed = NIODeadline.now()
    /// Requests waiting for a connection while the address is at `maxConnectionsPerAddress`, oldest first.
    private(set) var waiters = CircularBuffer<Waiter>()

    struct Waiter {
        let handler: ProxyConnectionHandler
        let serial: Int
    }

    /// Requests one pool lets wait; one more is answered 503 at once.
    static let maxWaiters = 1024

    init(address: Address, tls: UpstreamTLS? = nil, settings: PoolSettings) {
        self.address = address
        self.tls = tls
        self.settings = settings
        self.socketAddress = try? SocketAddress(ipAddress: address.ip.description, port: Int(address.port))
    }

    /// The most recently used idle connection that is still open (LIFO keeps the hot ones warm).
    func take() -> UpstreamConnection? {
        while let connection = idle.popLast() {
            connection.inPool = false
            if connection.isOpen { return connection }
        }
        return nil
    }

    /// No new connection may be opened: the address has `maxConnectionsPerAddress` already.
    var isAtConnectionLimit: Bool {
        settings.maxConnectionsPerAddress > 0 && live >= settings.maxConnectionsPerAddress
    }

    /// A connection attempt starts; `connectionEnded` balances it exactly once.
    func connectionStarted() {
        opened += 1
        live += 1
    }

    func connectionEnded() {
        live -= 1
        if !waiters.isEmpty { connectionAvailable() }
    }

    /// Queues a request until a connection is released or the count drops below the limit.
    /// False when the queue is full.
    func enqueue(_ handler: ProxyConnectionHandler, serial: Int) -> Bool {
        guard waiters.count < Self.maxWaiters else { return false }
        waiters.append(Waiter(handler: handler, serial: serial))
        return true
    }

    func removeWaiter(_ handler: ProxyConnectionHandler) {
        waiters.removeAll { $0.handler === handler }
    }

    /// Hands freed capacity to the oldest waiters still waiting (FIFO, as HAProxy's server queues). Each
    /// served waiter takes an idle connection or a slot, so the loop ends.
    private func connectionAvailable() {
        while !waiters.isEmpty && (!idle.isEmpty || !isAtConnectionLimit) {
            let waiter = waiters.removeFirst()
            waiter.handler.poolReady(self, serial: waiter.serial)
        }
    }

    /// Puts a waiter back at the head of the queue (the capacity it was woken for was gone).
    func requeueFirst(_ handler: ProxyConnectionHandler, serial: Int) {
        waiters.prepend(Waiter(handler: handler, serial: serial))
    }

    /// Keeps the connection for reuse, or closes it when the pool is full or the connection has served
    /// its share of requests.
    func release(_ connection: UpstreamConnection, now: NIODeadline) {
        guard connection.isOpen else { return }
        if idle.count >= settings.maxIdlePerAddress
            || (settings.maxRequestsPerConnection > 0 && connection.requestsServed >= settings.maxRequestsPerConnection)
        {
            connection.close()
            return
        }
        connection.idleSince = now
        lastUsed = now
        connection.inPool = true
        connection.resumeReading()  // an idle connection must notice when the upstream closes it
        idle.append(connection)
        if !waiters.isEmpty { connectionAvailable() }
    }

    func remove(_ connection: UpstreamConnection) {
        guard connection.inPool else { return }
        connection.inPool = false
        idle.removeAll { $0 === connection }
    }

    /// Closes connections idle since before `deadline`.
    func sweep(idleBefore deadline: NIODeadline) {
        guard idle.contains(where: { $0.idleSince < deadline }) else { return }
        var kept: [UpstreamConnection] = []
        kept.reserveCapacity(idle.count)
        for connection in idle {
            if connection.idleSince < deadline {
                connection.inPool = false
                connection.close()
            } else {
                kept.append(connection)
            }
        }
        idle = kept
    }

    func closeAll() {
        let all = idle
        idle.removeAll()
        for connection in all {
            connection.inPool = false
            connection.close()
        }
    }
}
