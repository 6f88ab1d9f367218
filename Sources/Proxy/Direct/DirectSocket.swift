import CDirectIO
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The socket calls `DirectEventLoop`'s channels and listeners make, each a thin wrapper that turns `errno` into
/// an `IOError`.
enum DirectSocket {
    /// A non-blocking, close-on-exec TCP socket.
    static func openStream(family: CInt) throws -> CInt {
        let fd = socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        return fd
    }

    /// Starts connecting; true when the connection is already made, false while it is in progress.
    static func connect(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ size: socklen_t) throws -> Bool {
        while true {
            if Glibc.connect(fd, address, size) == 0 { return true }
            switch errno {
            case EINTR: continue
            case EINPROGRESS: return false
            case let code: throw IOError(errnoCode: code, reason: "connect")
            }
        }
    }

    /// Makes `fd` non-blocking (a listening socket this process did not open, or opened blocking).
    static func setNonBlocking(_ fd: CInt) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw IOError(errnoCode: errno, reason: "fcntl(O_NONBLOCK)")
        }
    }

    static func setNoDelay(_ fd: CInt) {
        var one: CInt = 1
        _ = setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
    }

    /// `SO_ERROR`: the error a non-blocking connect (or the connection) ended with, 0 for none.
    static func pendingError(_ fd: CInt) -> CInt {
        var code: CInt = 0
        var size = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size) == 0 else { return errno }
        return code
    }

    static func localAddress(_ fd: CInt) -> SocketAddress? {
        var storage = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        guard result == 0 else { return nil }
        return address(storage)
    }

    /// An IPv4 or IPv6 address from a `sockaddr_storage` the kernel filled in; nil for other families.
    static func address(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        switch CInt(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) }
            }
        default:
            return nil
        }
    }

    /// Accepts one connection, non-blocking and close-on-exec; nil when none is waiting.
    enum Accepted {
        case connection(CInt, SocketAddress?)
        case none
        /// Out of descriptors or memory: accepting again at once would spin.
        case exhausted(CInt)
        case failed(CInt)
    }

    static func accept(_ listener: CInt) -> Accepted {
        var storage = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let fd = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4(listener, $0, &size, CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue))
                }
            }
            if fd >= 0 { return .connection(fd, address(storage)) }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EAGAIN, EWOULDBLOCK: return .none
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .exhausted(errno)
            case let code: return .failed(code)
            }
        }
    }
}
