import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare UDP client and a `dig` runner for checking the fake server from the outside.
enum LoopbackClient {
    static func udpExchange(_ query: [UInt8], port: Int, timeoutMilliseconds: Int32 = 2000) throws -> [UInt8]? {
        try udpExchangeAll(query, port: port, count: 1, timeoutMilliseconds: timeoutMilliseconds).first
    }

    /// Sends `query` once and collects up to `count` replies until the timeout.
    static func udpExchangeAll(_ query: [UInt8], port: Int, count: Int,
                               timeoutMilliseconds: Int32 = 2000) throws -> [[UInt8]] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(message: "socket failed") }
        defer { close(fd) }
        var address = loopback(port)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == query.count else { throw ClientError(message: "sendto failed") }
        var replies: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while replies.count < count {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, timeoutMilliseconds) > 0 else { break }
            let received = recv(fd, &buffer, buffer.count, 0)
            guard received >= 0 else { break }
            replies.append(Array(buffer[0..<received]))
        }
        return replies
    }

    static func canBindUDP(port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(message: "socket failed") }
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func dig(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["dig", "+time=2", "+tries=1", "+noall", "+comments", "+answer", "+additional",
                             "+nottlunits"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClientError(message: "dig exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        return address
    }

    struct ClientError: Error {
        let message: String
    }
}
