#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CFDPassing
import Foundation

/// One connection on a node's control socket (a Unix stream socket): length-prefixed JSON frames, with file
/// descriptors attached to a frame when a node hands its listening sockets over. Blocking, with a receive
/// timeout: the control socket is a rare, local conversation and runs on its own thread, never on an event loop.
final class ControlConnection {
    let fd: CInt
    /// Frames above this are refused (a carried state of 100,000 names is a few tens of MiB).
    static let maxFrame = 256 << 20

    init(fd: CInt) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to the control socket at `path`.
    static func connect(path: String) throws(ControlError) -> ControlConnection {
        let fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(errno: errno, "socket") }
        let connection = ControlConnection(fd: fd)
        let result = try withAddress(path) { pointer, size in Glibc.connect(fd, pointer, size) }
        guard result == 0 else { throw ControlError(errno: errno, "connect to \(path)") }
        return connection
    }

    /// Binds a listening control socket at `path`, readable and writable by its owner only.
    static func listen(path: String) throws(ControlError) -> CInt {
        let fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(errno: errno, "socket") }
        let previous = umask(0o177)
        defer { umask(previous) }
        let bound: CInt
        do {
            bound = try withAddress(path) { pointer, size in bind(fd, pointer, size) }
        } catch {
            close(fd)
            throw error
        }
        guard bound == 0, Glibc.listen(fd, 8) == 0 else {
            let code = errno
            close(fd)
            throw ControlError(errno: code, "bind \(path)")
        }
        return fd
    }

    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws(ControlError) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw ControlError("control socket path \(path) is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Sets how long a `receive` waits for data before failing.
    func setTimeout(seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The user id of the process at the other end.
    var peerUID: uid_t? {
        var uid: uid_t = 0
        guard switchyard_peer_uid(fd, &uid) == 0 else { return nil }
        return uid
    }

    func send<T: Encodable>(_ value: T, fds: [CInt] = []) throws(ControlError) {
        let body: Data
        do { body = try JSONEncoder().encode(value) } catch { throw ControlError("cannot encode a control message: \(error)") }
        var frame = Data()
        var length = UInt32(body.count).bigEndian
        withUnsafeBytes(of: &length) { frame.append(contentsOf: $0) }
        frame.append(body)
        let failure: ControlError? = frame.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> ControlError? in
            guard let base = raw.baseAddress else { return nil }
            var offset = 0
            // The descriptors ride on the first bytes; the rest of a large frame follows as plain data.
            let first = fds.withUnsafeBufferPointer { pointer in
                switchyard_send_fds(fd, base, raw.count, pointer.baseAddress, CInt(fds.count))
            }
            guard first > 0 else { return ControlError(errno: errno, "send on the control socket") }
            offset = first
            while offset < raw.count {
                let sent = Glibc.send(fd, base + offset, raw.count - offset, CInt(MSG_NOSIGNAL))
                if sent < 0 && errno == EINTR { continue }
                guard sent > 0 else { return ControlError(errno: errno, "send on the control socket") }
                offset += sent
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads one frame and decodes it; descriptors that came with it are returned (the caller owns them).
    func receive<T: Decodable>(_ type: T.Type) throws(ControlError) -> (T, [CInt]) {
        var buffer = [UInt8]()
        var fds: [CInt] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var needed = 4
        var length: Int?
        do {
            while buffer.count < needed {
                var incoming = [CInt](repeating: -1, count: 64)
                var count: CInt = 0
                let wanted = min(chunk.count, needed - buffer.count)
                let received = chunk.withUnsafeMutableBytes { raw in
                    incoming.withUnsafeMutableBufferPointer { pointer in
                        switchyard_recv_fds(fd, raw.baseAddress, wanted, pointer.baseAddress, 64, &count)
                    }
                }
                fds.append(contentsOf: incoming.prefix(Int(count)))
                if received < 0 {
                    let code = errno
                    throw ControlError(errno: code, code == EAGAIN || code == EWOULDBLOCK ? "control socket: no answer in time" : "receive on the control socket")
                }
                guard received > 0 else { throw ControlError("the other side closed the control connection") }
                buffer.append(contentsOf: chunk[0..<received])
                if length == nil, buffer.count >= 4 {
                    let value = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                    guard value > 0, value <= Self.maxFrame else { throw ControlError("control frame of \(value) bytes refused") }
                    length = value
                    needed = 4 + value
                }
            }
            let value = try JSONDecoder().decode(T.self, from: Data(buffer[4..<needed]))
            return (value, fds)
        } catch {
            for descriptor in fds { close(descriptor) }
            if let error = error as? ControlError { throw error }
            throw ControlError("malformed control message: \(error)")
        }
    }
}

/// A control-socket conversation failed.
public struct ControlError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The system error, when there was one (ENOENT, ECONNREFUSED… tell a missing or stale socket apart).
    public let code: CInt?

    init(_ message: String) {
        self.message = message
        code = nil
    }

    init(errno code: CInt, _ what: String) {
        message = "\(what): \(String(cString: strerror(code)))"
        self.code = code
    }

    public var description: String { message }
}
