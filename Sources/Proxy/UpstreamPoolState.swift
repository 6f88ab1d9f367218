import NIOCore

/// The connections of one upstream address on one event loop, written down as a state machine: events in,
/// decisions out. It holds no channel and calls nobody; `UpstreamPool` carries out what it returns, and wakes a
/// waiter only through its event loop, never from inside another client's call.
///
/// Counted state: `live` connections (connecting, busy, idle, or granted to a waiter that has not run yet),
/// the `idle` ones (most recently released last), and the `waiters` at `maxConnections` (oldest first).
/// Capacity handed to a waiter is reserved for it (a connection leaves `idle`, a slot counts in `live`) until
/// the waiter uses it or gives it back, so no other request can take it in between.
///
///     request:  take() ─▶ connection │ isAtLimit? ─no─▶ reserveSlot(), connect │ yes ─▶ enqueue(waiter)
///     released(c) ─▶ first waiter gets .connection(c) │ else idle, or close (pool full, served enough)
///     ended()     ─▶ live − 1 ─▶ waiters get .slot while under the limit
///     giveBack(g) ─▶ as released(c) / ended() for the capacity a departed waiter held
struct UpstreamPoolState<Connection: AnyObject, Waiter: Equatable> {
    /// Capacity reserved for a waiter.
    enum Grant {
        /// An open connection, taken out of `idle` for the waiter.
        case connection(Connection)
        /// Room for one new connection, already counted in `live`: the waiter connects.
        case slot
    }

    /// What to do with a connection a request is done with.
    enum Release {
        /// Kept: idle in the pool, or handed to a waiter (in the grants).
        case keep
        /// Closed: the pool is full, or the connection served `maxRequestsPerConnection`.
        case close
    }

    let maxIdle: Int
    let maxRequestsPerConnection: Int
    /// 0: no limit.
    let maxConnections: Int
    let maxWaiters: Int

    private(set) var idle: [(connection: Connection, since: NIODeadline)] = []
    private(set) var live = 0
    private(set) var waiters = CircularBuffer<Waiter>()
    /// When a connection was last released here: pools of addresses gone from DNS are forgotten by it.
    private(set) var lastUsed: NIODeadline

    init(settings: PoolSettings, maxWaiters: Int, now: NIODeadline) {
        maxIdle = settings.maxIdlePerAddress
        maxRequestsPerConnection = settings.maxRequestsPerConnection
        maxConnections = settings.maxConnectionsPerAddress
        self.maxWaiters = maxWaiters
        lastUsed = now
    }

    /// No new connection may be opened: `live` is at `maxConnections`.
    var isAtLimit: Bool { maxConnections > 0 && live >= maxConnections }

    // MARK: Requests

    /// The most recently released idle connection (LIFO keeps the warm ones warm), out of `idle`.
    mutating func take() -> Connection? {
        idle.popLast()?.connection
    }

    /// A connection attempt starts; `ended()` balances it exactly once.
    mutating func reserveSlot() {
        live += 1
    }

    /// Queues a request at the limit; false when `maxWaiters` already wait.
    mutating func enqueue(_ waiter: Waiter) -> Bool {
        guard waiters.count < maxWaiters else { return false }
        waiters.append(waiter)
        return true
    }

    /// Puts a woken waiter back at the head (the connection it was given closed before it ran).
    mutating func requeueFirst(_ waiter: Waiter) {
        waiters.prepend(waiter)
    }

    /// A waiter left (timed out, client gone) before it was served.
    mutating func cancel(_ waiter: Waiter) {
        cancel { $0 == waiter }
    }

    /// Every waiter `leaving` picks left.
    mutating func cancel(where leaving: (Waiter) -> Bool) {
        waiters.removeAll(where: leaving)
    }

    // MARK: Connections

    /// A request is done with an open, reusable `connection` that served `requestsServed` requests.
    mutating func released(_ connection: Connection, requestsServed: Int,
                           now: NIODeadline) -> (Release, [(Waiter, Grant)]) {
        if maxRequestsPerConnection > 0 && requestsServed >= maxRequestsPerConnection {
            return (.close, [])
        }
        lastUsed = now
        if let waiter = waiters.popFirst() {
            return (.keep, [(waiter, .connection(connection))])
        }
        guard idle.count < maxIdle else { return (.close, []) }
        idle.append((connection, now))
        return (.keep, [])
    }

    /// An idle connection closed (the upstream hung up): it leaves `idle`; its count ends with `ended()`.
    mutating func left(_ connection: Connection) {
        idle.removeAll { $0.connection === connection }
    }

    /// A connection counted in `live` is gone (closed, or its connect failed): waiters get the room.
    mutating func ended() -> [(Waiter, Grant)] {
        live -= 1
        var grants: [(Waiter, Grant)] = []
        while !isAtLimit, let waiter = waiters.popFirst() {
            live += 1
            grants.append((waiter, .slot))
        }
        return grants
    }

    /// A woken waiter had left by the time it ran: the capacity goes to the next one, or back to the pool.
    mutating func giveBack(_ grant: Grant, requestsServed: Int, now: NIODeadline) -> (Release, [(Waiter, Grant)]) {
        switch grant {
        case .connection(let connection): return released(connection, requestsServed: requestsServed, now: now)
        case .slot: return (.keep, ended())
        }
    }

    /// Idle connections released before `deadline`, out of `idle`: the caller closes them.
    mutating func expire(idleBefore deadline: NIODeadline) -> [Connection] {
        guard idle.contains(where: { $0.since < deadline }) else { return [] }
        let expired = idle.filter { $0.since < deadline }.map(\.connection)
        idle.removeAll { $0.since < deadline }
        return expired
    }

    /// Every idle connection, out of `idle` (the node is stopping).
    mutating func takeAllIdle() -> [Connection] {
        defer { idle.removeAll() }
        return idle.map(\.connection)
    }
}
