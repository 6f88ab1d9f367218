import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny DNS server on 127.0.0.1 that answers whatever its handler says: malformed, hostile or
/// no answers at all, which a real server would never send. UDP and TCP share one ephemeral port.
///
/// One background thread serves both transports with `poll(2)`; TCP messages carry the usual
/// two-byte length prefix. Call `stop()` when done: the serving thread keeps the server alive.
public final class FakeDNSServer: Sendable {
    public enum Transport: Sendable, Equatable {
        case udp
        case tcp
    }

    /// One message the server received.
    public struct ReceivedQuery: Sendable, Equatable {
        public let bytes: [UInt8]
        public let transport: Transport

        public init(bytes: [UInt8], transport: Transport) {
            self.bytes = bytes
            self.transport = transport
        }
    }

    /// Receives each query and returns the messages to send back, in order; `[]` stays silent.
    public typealias Handler = @Sendable (_ query: [UInt8], _ transport: Transport) -> [[UInt8]]

    public let port: Int
    private let udpSocket: Int32
    private let tcpListener: Int32 // -1 without TCP
    private let handler: Handler
    private let state = NIOLockedValueBox(State())

    private struct State: Sendable {
        var stopping = false
        var finished = false
        var received: [ReceivedQuery] = []
    }

    /// Answers UDP and TCP queries with `handler`.
    public convenience init(handler: @escaping @Sendable (_ query: [UInt8]) -> [[UInt8]]) throws {
        try self.init(tcp: true) { query, _ in handler(query) }
    }

    /// - Parameters:
    ///   - tcp: also accept TCP on the same port (so "truncated, retry over TCP" can be tested).
    ///   - handler: sees the transport too, to answer UDP and TCP differently.
    public init(tcp: Bool = true, handler: @escaping Handler) throws {
        var lastError = "no attempt"
        for _ in 0..<20 {
            let udp = try Self.makeSocket(type: Self.datagram)
            guard Self.bindLoopback(udp, port: 0) else {
                lastError = "bind UDP: \(String(cString: strerror(errno)))"
                close(udp)
                continue
            }
            let port = Self.localPort(udp)
            guard tcp else {
                self.udpSocket = udp
                self.tcpListener = -1
                self.port = port
                self.handler = handler
                start()
                return
            }
            let listener = try Self.makeSocket(type: Self.stream)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if Self.bindLoopback(listener, port: port), listen(listener, 16) == 0 {
                self.udpSocket = udp
                self.tcpListener = listener
                self.port = port
                self.handler = handler
                start()
                return
            }
            lastError = "bind TCP port \(port): \(String(cString: strerror(errno)))"
            close(listener)
            close(udp)
        }
        throw TestDNSError("FakeDNSServer found no loopback port: \(lastError)")
    }

    /// Every query received so far (at most the last 10,000), in arrival order.
    public var receivedQueries: [ReceivedQuery] {
        state.withLockedValue { $0.received }
    }

    /// Stops serving, closes all sockets and waits (up to 2 s) for the thread to finish.
    /// Safe to call more than once; must not be called from the handler.
    public func stop() {
        state.withLockedValue { $0.stopping = true }
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        while !state.withLockedValue({ $0.finished }) && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    private func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "FakeDNSServer:\(port)"
        thread.start()
    }

    // MARK: Serving thread

    private func serve() {
        var connections: [Int32: [UInt8]] = [:]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !state.withLockedValue({ $0.stopping }) {
            var fds = [pollfd(fd: udpSocket, events: Int16(POLLIN), revents: 0)]
            if tcpListener >= 0 { fds.append(pollfd(fd: tcpListener, events: Int16(POLLIN), revents: 0)) }
            for fd in connections.keys { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), 50) > 0 else { continue }
            for entry in fds where entry.revents != 0 {
                if entry.fd == udpSocket {
                    serveDatagram(&buffer)
                } else if entry.fd == tcpListener {
                    let connection = accept(tcpListener, nil, nil)
                    if connection >= 0 {
                        var timeout = timeval(tv_sec: 1, tv_usec: 0)
                        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                        connections[connection] = []
                    }
                } else if var pending = connections[entry.fd] {
                    let count = recv(entry.fd, &buffer, buffer.count, 0)
                    if count <= 0 {
                        close(entry.fd)
                        connections[entry.fd] = nil
                        continue
                    }
                    pending += buffer[0..<count]
                    connections[entry.fd] = serveStream(entry.fd, pending)
                }
            }
        }
        for fd in connections.keys { close(fd) }
        close(udpSocket)
        if tcpListener >= 0 { close(tcpListener) }
        state.withLockedValue { $0.finished = true }
    }

    private func serveDatagram(_ buffer: inout [UInt8]) {
        var peer = sockaddr_storage()
        var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(udpSocket, &buffer, buffer.count, 0, $0, &peerLength)
            }
        }
        guard count >= 0 else { return }
        let query = Array(buffer[0..<count])
        record(query, .udp)
        for reply in handler(query, .udp) {
            _ = withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(udpSocket, reply, reply.count, 0, $0, peerLength)
                }
            }
        }
    }

    /// Answers every complete length-prefixed message in `pending`; returns the incomplete rest.
    private func serveStream(_ fd: Int32, _ pending: [UInt8]) -> [UInt8] {
        var rest = pending[...]
        while rest.count >= 2 {
            let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
            guard rest.count >= 2 + length else { break }
            let query = Array(rest[(rest.startIndex + 2)..<(rest.startIndex + 2 + length)])
            rest = rest.dropFirst(2 + length)
            record(query, .tcp)
            for reply in handler(query, .tcp) {
                let body = reply.prefix(65_535)
                let framed = [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
                _ = send(fd, framed, framed.count, Int32(MSG_NOSIGNAL))
            }
        }
        return Array(rest)
    }

    private func record(_ query: [UInt8], _ transport: Transport) {
        state.withLockedValue { state in
            if state.received.count >= 10_000 { state.received.removeFirst() }
            state.received.append(ReceivedQuery(bytes: query, transport: transport))
        }
    }

    // MARK: Sockets

    #if canImport(Glibc) || canImport(Musl)
    private static let datagram = Int32(SOCK_DGRAM.rawValue)
    private static let stream = Int32(SOCK_STREAM.rawValue)
    #else
    private static let datagram = SOCK_DGRAM
    private static let stream = SOCK_STREAM
    #endif

    private static func makeSocket(type: Int32) throws -> Int32 {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else {
            throw TestDNSError("FakeDNSServer cannot open a socket: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    private static func bindLoopback(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func localPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
