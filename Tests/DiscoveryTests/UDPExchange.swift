import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends one datagram from `source` (a loopback IPv4 address, so a test can pose as another sender) to
/// 127.0.0.1:`port` and waits up to `timeout` for one answer; nil when none came. Runs on its own thread,
/// so the wait leaves Swift's cooperative pool to the code under test.
func udpExchange(_ bytes: [UInt8], port: Int, source: String = "127.0.0.1",
                 timeout: Duration = .milliseconds(500)) async throws -> [UInt8]? {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try udpExchangeBlocking(bytes, port: port, source: source, timeout: timeout) })
        }.start()
    }
}

private func udpExchangeBlocking(_ bytes: [UInt8], port: Int, source: String = "127.0.0.1",
                 timeout: Duration = .milliseconds(500)) throws -> [UInt8]? {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw UDPExchangeError("socket: errno \(errno)") }
    defer { close(fd) }
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else { throw UDPExchangeError("bad source \(source)") }
    var remote = sockaddr_in()
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_port = in_port_t(UInt16(port).bigEndian)
    _ = inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
    let bound = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw UDPExchangeError("bind \(source): errno \(errno)") }
    let milliseconds = Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000)
    var interval = timeval(tv_sec: milliseconds / 1000, tv_usec: Int(milliseconds % 1000) * 1000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
    let sent = bytes.withUnsafeBytes { buffer in
        withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
    guard sent == bytes.count else { throw UDPExchangeError("sendto: errno \(errno)") }
    var answer = [UInt8](repeating: 0, count: 65_535)
    let received = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard received > 0 else { return nil }
    return Array(answer.prefix(received))
}

struct UDPExchangeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
