#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// The new process's side of a takeover: asks the running node at a control socket for its listening sockets
/// and state, and tells it when it serves on them.
public final class TakeoverClient {
    /// The node being taken over.
    public let predecessor: Int32
    /// The listening sockets received, with what each listens on (the caller owns the descriptors).
    public let sockets: [(listener: ControlReply.Listener, fd: CInt)]
    public let carry: NodeCarry?
    private let connection: ControlConnection

    private init(predecessor: Int32, sockets: [(listener: ControlReply.Listener, fd: CInt)], carry: NodeCarry?,
                 connection: ControlConnection) {
        self.predecessor = predecessor
        self.sockets = sockets
        self.carry = carry
        self.connection = connection
    }

    /// Asks the node at `path` to hand itself over. Fails, leaving that node as it was, when no node answers
    /// there (no socket, or a stale one), or the node refuses.
    public static func begin(path: String) throws(GatewayError) -> TakeoverClient {
        let connection = try connect(path)
        do {
            connection.setTimeout(seconds: 30)
            try connection.send(ControlRequest(op: "takeover", pid: getpid()))
            let (reply, fds) = try connection.receive(ControlReply.self)
            guard reply.op == "takeover", let listeners = reply.listeners, listeners.count == fds.count else {
                fds.forEach { close($0) }
                throw GatewayError("the node at \(path) refused the takeover: \(reply.error ?? "unexpected answer \(reply.op)")")
            }
            return TakeoverClient(predecessor: reply.pid, sockets: Array(zip(listeners, fds)).map { ($0, $1) },
                                  carry: reply.carry, connection: connection)
        } catch let error as ControlError {
            throw GatewayError("takeover through \(path) failed: \(error.message)")
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError("takeover through \(path) failed: \(error)")
        }
    }

    /// Tells the old node this process serves on its sockets, and waits until it has let go of its Admin API,
    /// NOTIFY and control socket (so they can be bound here). The old node drains and exits by itself.
    public func serving() throws(GatewayError) {
                do {
            connection.setTimeout(seconds: 30)
            try connection.send(ControlRequest(op: "serving", pid: getpid()))
            let (reply, fds) = try connection.receive(ControlReply.self)
            fds.forEach { close($0) }
            guard reply.op == "released" else {
                throw GatewayError("the old node (PID \(predecessor)) answered \(reply.op) instead of released")
            }
        } catch let error as ControlError {
            throw GatewayError("the old node (PID \(predecessor)) did not confirm the hand-over: \(error.message)")
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError("\(error)")
        }
    }

    /// The running node at `path`: its PID and listeners.
    public static func status(path: String) throws(GatewayError) -> ControlReply {
        let connection = try connect(path)
        do {
            connection.setTimeout(seconds: 5)
            try connection.send(ControlRequest(op: "status", pid: getpid()))
            let (reply, fds) = try connection.receive(ControlReply.self)
            fds.forEach { close($0) }
            return reply
        } catch {
            throw GatewayError("the node at \(path) did not answer: \(error.message)")
        }
    }

    private static func connect(_ path: String) throws(GatewayError) -> ControlConnection {
        do {
            return try ControlConnection.connect(path: path)
        } catch {
            switch error.code {
            case ENOENT:
                throw GatewayError("no control socket at \(path): no node to take over (start without --takeover, or set control_socket to the running node's)")
            case ECONNREFUSED:
                throw GatewayError("stale control socket \(path): no node answers on it (its node stopped without removing it); start without --takeover")
            default:
                throw GatewayError("cannot reach the control socket \(path): \(error.message)")
            }
        }
    }
}
