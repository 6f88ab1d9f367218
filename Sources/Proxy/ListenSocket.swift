#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CDirectIO
import NIOCore

/// A listening TCP socket opened by hand instead of by `ServerBootstrap.bind`, so the proxy knows its file
/// descriptor: that descriptor is what a node hands to the process that takes it over (`SCM_RIGHTS`), and a
/// node taking over gets its listeners this way instead of binding them.
enum ListenSocket {
    /// Opens, binds and listens on `host:port` (SO_REUSEADDR, close-on-exec). The caller owns the descriptor.
    static func open(host: String, port: Int, backlog: Int32) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        default: throw IOError(errnoCode: EAFNOSUPPORT, reason: "socket")
        }
        let fd = socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: CInt = 1
        let bound = address.withSockAddr { pointer, size -> CInt in
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)) == 0 else { return -1 }
            guard bind(fd, pointer, socklen_t(size)) == 0 else { return -1 }
            return listen(fd, backlog)
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw IOError(errnoCode: code, reason: "bind \(host):\(port)")
        }
        return fd
    }

    static func close(_ fd: CInt) {
        _ = Glibc.close(fd)
    }

    /// Whether `fd` is a listening TCP socket (a descriptor handed over by another process is checked first).
    static func isListening(_ fd: CInt) -> Bool {
        var value: CInt = 0
        var size = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &size) == 0 else { return false }
        return value != 0
    }
}
