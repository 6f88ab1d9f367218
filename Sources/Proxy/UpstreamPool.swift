import Balancer
import NIOCore

/// The keep-alive connections to one address on one event loop (no lock: only that loop touches it). The
/// decisions are `UpstreamPoolState`'s; this class carries them out: it closes what the state says to close,
/// and wakes a waiter through the event loop, so a release never runs another client's code inside it.
///
/// `@exclusivity(unchecked)` on the stored properties, as in `ProxyConnectionHandler`: one thread, and the only
/// accesses that span a call are `UpstreamPoolState`'s methods (pure; `cancel`'s predicate only compares); the
/// connections and waiters they return are acted on after the access ended.
final class UpstreamPool {
    let address: Address
    /// TLS for connections of this pool (https services); nil for plain HTTP.
    let tls: UpstreamTLS?
    /// Resolved once: connecting is the slow path, but parsing the text each time is needless.
    let socketAddress: SocketAddress?
    private let eventLoop: any EventLoop
    @exclusivity(unchecked) private var state: UpstreamPoolState<UpstreamConnection, Waiter>
    /// Connections opened by this pool over its lifetime; tests and stats read it.
    @exclusivity(unchecked) var opened = 0

    /// A request waiting at `maxConnectionsPerAddress`; `serial` tells a later request of the same client
    /// connection from this one.
    struct Waiter: Equatable {
        let handler: ProxyConnectionHandler
        let serial: Int

        static func == (lhs: Waiter, rhs: Waiter) -> Bool { lhs.handler === rhs.handler && lhs.serial == rhs.serial }
    }

    typealias Grant = UpstreamPoolState<UpstreamConnection, Waiter>.Grant

    /// Requests one pool lets wait; one more is answered 503 at once.
    static let maxWaiters = 1024

    init(address: Address, tls: UpstreamTLS? = nil, settings: PoolSettings, eventLoop: any EventLoop) {
        self.address = address
        self.tls = tls
        self.eventLoop = eventLoop
        state = UpstreamPoolState(settings: settings, maxWaiters: Self.maxWaiters, now: eventLoop.now)
        self.socketAddress = try? SocketAddress(ipAddress: address.ip.description, port: Int(address.port))
    }

    var live: Int { state.live }
    /// Connections waiting in the pool for a request.
    var idleCount: Int { state.idle.count }
    var lastUsed: NIODeadline { state.lastUsed }
    var isAtConnectionLimit: Bool { state.isAtLimit }

    /// An idle connection that is still open, if any.
    func take() -> UpstreamConnection? {
        while let connection = state.take() {
            connection.inPool = false
            if connection.isOpen { return connection }
        }
        return nil
    }

    /// A connection attempt starts; `connectionEnded` balances it exactly once.
    func connectionStarted() {
        opened += 1
        state.reserveSlot()
    }

    /// A connect that a `.slot` grant already counted starts.
    func grantedConnectionStarted() {
        opened += 1
    }

    func connectionEnded() {
        wake(state.ended())
    }

    /// Queues a request until capacity frees up; false when the queue is full.
    func enqueue(_ handler: ProxyConnectionHandler, serial: Int) -> Bool {
        state.enqueue(Waiter(handler: handler, serial: serial))
    }

    /// Takes `handler`'s request off the queue (a client connection waits for one request at a time).
    func removeWaiter(_ handler: ProxyConnectionHandler) {
        state.cancel { $0.handler === handler }
    }

    func requeueFirst(_ handler: ProxyConnectionHandler, serial: Int) {
        state.requeueFirst(Waiter(handler: handler, serial: serial))
    }

    /// A request is done with `connection`: it is kept (idle, or handed to the oldest waiter) or closed.
    func release(_ connection: UpstreamConnection, now: NIODeadline) {
        guard connection.isOpen else { return }
        let (decision, grants) = state.released(connection, requestsServed: connection.requestsServed, now: now)
        carry(decision, connection, grants, now: now)
    }

    /// A woken waiter that had left: its connection or slot goes to the next waiter, or back.
    func giveBack(_ grant: Grant, now: NIODeadline) {
        switch grant {
        case .connection(let connection):
            guard connection.isOpen else { return }
            let (decision, grants) = state.giveBack(grant, requestsServed: connection.requestsServed, now: now)
            carry(decision, connection, grants, now: now)
        case .slot:
            wake(state.giveBack(grant, requestsServed: 0, now: now).1)
        }
    }

    private func carry(_ decision: UpstreamPoolState<UpstreamConnection, Waiter>.Release, _ connection: UpstreamConnection,
                       _ grants: [(Waiter, Grant)], now: NIODeadline) {
        switch decision {
        case .close:
            connection.close()
        case .keep where grants.isEmpty:
            connection.idleSince = now
            connection.inPool = true
            connection.resumeReading()  // an idle connection must notice when the upstream closes it
        case .keep:
            break
        }
        wake(grants)
    }

    /// Runs each grant on the event loop after the current call returns, in grant order.
    private func wake(_ grants: [(Waiter, Grant)]) {
        for (waiter, grant) in grants {
            eventLoop.assumeIsolated().execute { [self] in
                waiter.handler.poolReady(self, grant: grant, serial: waiter.serial)
            }
        }
    }

    func remove(_ connection: UpstreamConnection) {
        guard connection.inPool else { return }
        connection.inPool = false
        state.left(connection)
    }

    /// Closes connections idle since before `deadline`.
    func sweep(idleBefore deadline: NIODeadline) {
        for connection in state.expire(idleBefore: deadline) {
            connection.inPool = false
            connection.close()
        }
    }

    func closeAll() {
        for connection in state.takeAllIdle() {
            connection.inPool = false
            connection.close()
        }
    }
}
