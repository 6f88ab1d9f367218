#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFDPassing
import Dispatch
import Foundation
import Logging
import Synchronization

/// The running node's side of its control socket: answers `status`, and hands the node over to a process
/// that asks `takeover` (see `ControlRequest` for the conversation). One connection at a time, on a thread of
/// its own; only a process of the same user (or root) is answered.
public final class ControlServer: Sendable {
    /// What the node does at each turn of a takeover.
    public struct Handlers: Sendable {
        /// The listening sockets to hand over (they stay this node's until `release`).
        public var listeners: @Sendable () -> [(listener: ControlReply.Listener, fd: CInt)]
        /// The state the new process starts from.
        public var carry: @Sendable () -> NodeCarry
        /// The new process serves: stop accepting, stop the Admin API and NOTIFY, so it can bind those.
        public var release: @Sendable () async -> Void
        /// Handed over: drain and exit.
        public var handedOver: @Sendable (_ successor: Int32) -> Void

        public init(listeners: @escaping @Sendable () -> [(listener: ControlReply.Listener, fd: CInt)],
                    carry: @escaping @Sendable () -> NodeCarry,
                    release: @escaping @Sendable () async -> Void,
                    handedOver: @escaping @Sendable (Int32) -> Void) {
            self.listeners = listeners
            self.carry = carry
            self.release = release
            self.handedOver = handedOver
        }
    }

    public let path: String
    private let fd: CInt
    private let handlers: Handlers
    private let logger: Logger
    /// Set by `stop` or a completed hand-over; the accept loop ends within one poll interval.
    private let done = Mutex(false)
    /// Set once the socket file is no longer this node's (handed over, or stopped).
    private let unlinked = Mutex(false)

    private init(path: String, fd: CInt, handlers: Handlers, logger: Logger) {
        self.path = path
        self.fd = fd
        self.handlers = handlers
        self.logger = logger
    }

    /// Listens on `path`. A socket file left by a node that is gone is replaced; one a running node answers on is
    /// refused, naming that node.
    public static func start(path: String, handlers: Handlers, logger: Logger) throws(GatewayError) -> ControlServer {
        if FileManager.default.fileExists(atPath: path) {
            if let reply = try? TakeoverClient.status(path: path) {
                throw GatewayError("control socket \(path) belongs to a running node (PID \(reply.pid)); stop it, "
                    + "take it over with --takeover, or set another control_socket")
            }
            unlink(path)
            logger.notice("removed a stale control socket", metadata: ["path": "\(path)"])
        }
        let fd: CInt
        do {
            fd = try ControlConnection.listen(path: path)
        } catch {
            throw GatewayError("cannot listen on the control socket \(path) (control_socket): \(error.message)")
        }
        let server = ControlServer(path: path, fd: fd, handlers: handlers, logger: logger)
        let thread = Thread { server.acceptLoop() }
        thread.name = "switchyard-control"
        thread.start()
        return server
    }

    /// Stops answering and removes the socket file (unless it was handed over).
    public func stop() {
        done.withLock { $0 = true }
        removeSocketFile()
    }

    private func removeSocketFile() {
        let first = unlinked.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        if first { unlink(path) }
    }

    private func acceptLoop() {
        defer { close(fd) }
        while !done.withLock({ $0 }) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            guard ready > 0 else { continue }
            let client = switchyard_accept(fd)
            guard client >= 0 else { continue }
            let connection = ControlConnection(fd: client)
            if serve(connection) {
                done.withLock { $0 = true }
            }
        }
    }

    /// One conversation; true when the node was handed over.
    private func serve(_ connection: ControlConnection) -> Bool {
        connection.setTimeout(seconds: 5)
        guard let uid = connection.peerUID, uid == getuid() || uid == 0 else {
            logger.warning("control socket: refused a process of another user")
            return false
        }
        let me = getpid()
        do {
            let (request, stray) = try connection.receive(ControlRequest.self)
            stray.forEach { close($0) }
            switch request.op {
            case "status":
                let listeners = handlers.listeners().map(\.listener)
                try connection.send(ControlReply(op: "status", pid: me, listeners: listeners))
                return false
            case "takeover":
                return try handOver(connection, to: request.pid)
            default:
                try connection.send(ControlReply(op: "error", pid: me, error: "unknown op \(request.op)"))
                return false
            }
        } catch {
            logger.warning("control socket: conversation failed", metadata: ["error": "\(error.message)"])
            return false
        }
    }

    private func handOver(_ connection: ControlConnection, to successor: Int32) throws(ControlError) -> Bool {
        let me = getpid()
        let sockets = handlers.listeners()
        guard !sockets.isEmpty else {
            try connection.send(ControlReply(op: "error", pid: me, error: "this node is not accepting (it is stopping or already handed over)"))
            return false
        }
        logger.notice("takeover asked", metadata: ["successor_pid": "\(successor)", "listeners": "\(sockets.count)"])
        try connection.send(ControlReply(op: "takeover", pid: me, listeners: sockets.map(\.listener), carry: handlers.carry()),
                            fds: sockets.map(\.fd))
        // The successor applies its configuration and starts serving on the sockets; until it says so (or if
        // it fails), this node goes on as before.
        connection.setTimeout(seconds: 60)
        let serving: ControlRequest
        do {
            (serving, _) = try connection.receive(ControlRequest.self)
        } catch {
            logger.warning("takeover abandoned; still serving", metadata: ["successor_pid": "\(successor)", "error": "\(error.message)"])
            return false
        }
        guard serving.op == "serving" else {
            logger.warning("takeover abandoned; still serving", metadata: ["successor_pid": "\(successor)", "said": "\(serving.op)"])
            return false
        }
        removeSocketFile()
        let released = DispatchSemaphore(value: 0)
        let release = handlers.release
        Task {
            await release()
            released.signal()
        }
        released.wait()
        try? connection.send(ControlReply(op: "released", pid: me))
        logger.notice("handed over; draining", metadata: ["successor_pid": "\(successor)"])
        handlers.handedOver(successor)
        return true
    }
}
