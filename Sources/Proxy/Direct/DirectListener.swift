import CDirectIO
import Logging
import NIOCore

/// Accepts clients from one listening socket on one `DirectEventLoop`. Every worker loop has its own listener on
/// the same socket (`EPOLLEXCLUSIVE`, so a new connection wakes one loop, not all) and hands what it accepts to
/// `assign`, which picks the loop the connection will live on (the proxy deals them out in turn, so a burst of
/// connections that woke one loop still spreads over all of them).
final class DirectListener: DirectSelectable {
    let fd: CInt
    let loop: DirectEventLoop
    private let logger: Logger
    private let assign: (CInt, SocketAddress?) -> Void
    private var token: UInt64? = nil
    private var stopped = false
    private var resume: Scheduled<Void>? = nil

    /// Accepted connections per readiness event, so one busy listener cannot hold the loop.
    static let acceptsPerEvent = 16
    /// How long accepting pauses when the process is out of descriptors or memory.
    static let exhaustedPause = TimeAmount.milliseconds(100)

    /// `assign` gets each accepted socket (non-blocking, owned by it from then on) and its peer's address.
    init(fd: CInt, loop: DirectEventLoop, logger: Logger, assign: @escaping (CInt, SocketAddress?) -> Void) {
        self.fd = fd
        self.loop = loop
        self.logger = logger
        self.assign = assign
    }

    /// Keeps every connection on this loop, its pipeline built by `initialize`.
    convenience init(fd: CInt, loop: DirectEventLoop, logger: Logger,
                     initialize: @escaping (DirectSocketChannel) throws -> Void) {
        self.init(fd: fd, loop: loop, logger: logger) { client, remote in
            DirectSocketChannel.accepted(fd: client, loop: loop, remote: remote, initialize: initialize)
        }
    }

    /// Starts accepting (on the loop's thread).
    func start() throws {
        guard !stopped, token == nil else { return }
        // Every loop waits on this socket; the ones that lose the race for a connection must not block in accept.
        try DirectSocket.setNonBlocking(fd)
        token = try loop.register(fd, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, for: self)
    }

    /// Stops accepting (on the loop's thread). The socket stays open: its owner closes it once every loop stopped.
    func stop() {
        stopped = true
        resume?.cancel()
        resume = nil
        if let token {
            loop.deregister(fd, token: token)
            self.token = nil
        }
    }

    func ready(_ events: UInt32) {
        for _ in 0..<Self.acceptsPerEvent {
            switch DirectSocket.accept(fd) {
            case .connection(let client, let remote):
                assign(client, remote)
            case .none:
                return
            case .exhausted(let code):
                logger.warning("accept paused: out of resources",
                               metadata: ["error": "\(IOError(errnoCode: code, reason: "accept"))"])
                pause()
                return
            case .failed(let code):
                logger.warning("accept failed", metadata: ["error": "\(IOError(errnoCode: code, reason: "accept"))"])
                return
            }
        }
    }

    private func pause() {
        if let token {
            loop.deregister(fd, token: token)
            self.token = nil
        }
        resume = loop.assumeIsolated().scheduleTask(in: Self.exhaustedPause) { [self] in
            self.resume = nil
            try? self.start()
        }
    }
}
