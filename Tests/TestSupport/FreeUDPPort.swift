import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A UDP port on 127.0.0.1 that was free a moment ago, for a listener whose address a server must know first.
public func freeUDPPort() throws -> Int {
    try freeLoopbackPort(Int32(SOCK_DGRAM.rawValue))
}

/// A port of socket type `type` (SOCK_DGRAM, SOCK_STREAM) on 127.0.0.1 that was free a moment ago. A socket
/// that was only bound leaves no TIME_WAIT behind, so a server can bind the port at once.
public func freeLoopbackPort(_ type: Int32) throws -> Int {
    let fd = socket(AF_INET, type, 0)
    guard fd >= 0 else { throw FreeUDPPortError("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    _ = inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw FreeUDPPortError("bind: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct FreeUDPPortError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
