#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TestClientError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A parsed HTTP/1.x response as the client saw it.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The raw head text, for asserting what was (not) relayed.
    public var head: String

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking loopback TCP client with a receive timeout on every read, so no test can hang.
public final class TestClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var peerClosed = false

    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket() failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TestClientError(description: "connect to \(host):\(port) failed")
        }
    }

    deinit {
        close(fd)
    }

    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw TestClientError(description: "send failed (errno \(errno))") }
            offset += n
        }
    }

    /// Sends `count` bytes of `pattern` repeated, without building them in memory.
    public func sendRepeated(_ pattern: [UInt8], count: Int) throws {
        var left = count
        while left > 0 {
            let take = min(left, pattern.count)
            try send(Array(pattern[0..<take]))
            left -= take
        }
    }

    /// Sends `pattern` repeatedly without blocking until the peer stops taking bytes (nothing could be
    /// sent for `stallMilliseconds`), resets the connection, or `limit` bytes went out; returns the number
    /// of bytes sent. A reset is not an error here: a server that answers early and closes causes one.
    public func sendUntilStalled(_ pattern: [UInt8], limit: Int, stallMilliseconds: Int = 500) throws -> Int {
        var sent = 0
        var stalledFor = 0
        while sent < limit && stalledFor < stallMilliseconds {
            let take = min(limit - sent, pattern.count)
            let n = pattern[0..<take].withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                sent += n
                stalledFor = 0
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                usleep(10_000)
                stalledFor += 10
            } else if n < 0 && (errno == ECONNRESET || errno == EPIPE) {
                break
            } else {
                throw TestClientError(description: "send failed (errno \(errno))")
            }
        }
        return sent
    }

    public func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads more bytes into the buffer; false on EOF. Throws on timeout.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 {
            peerClosed = true
            return false
        }
        if n < 0 {
            if errno == ECONNRESET {
                peerClosed = true
                return false
            }
            throw TestClientError(description: "receive timed out or failed (errno \(errno))")
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let lf = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[0..<lf])
                buffer.removeFirst(lf + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw TestClientError(description: "connection closed mid-line") }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw TestClientError(description: "connection closed mid-body") }
        }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads and discards `count` body bytes, returning how many arrived (for large downloads).
    public func discardBody(_ count: Int) throws -> Int {
        var left = count
        while left > 0 {
            if buffer.isEmpty {
                guard try fill() else { break }
            }
            let take = min(left, buffer.count)
            buffer.removeFirst(take)
            left -= take
        }
        return count - left
    }

    /// Reads one response; `headRequest` means no body follows whatever the headers say.
    /// With `bodyLimit`, only the head is read when the body is longer (the caller streams it).
    public func readResponse(headRequest: Bool = false, readBody: Bool = true) throws -> TestResponse {
        var head = ""
        var status = 0
        var headers: [(String, String)] = []
        repeat {
            let statusLine = try readLine()
            head = statusLine + "\r\n"
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let code = Int(parts[1]) else {
                throw TestClientError(description: "bad status line: \(statusLine)")
            }
            status = code
            headers = []
            while true {
                let line = try readLine()
                head += line + "\r\n"
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingSpaces()
                headers.append((name, value))
            }
        } while status >= 100 && status < 200 && status != 101
        var response = TestResponse(status: status, headers: headers, body: [], head: head)
        if headRequest || status == 204 || status == 304 || status == 101 || !readBody { return response }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                let sizeLine = try readLine()
                let sizeText = sizeLine.split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingSpaces(), radix: 16) else {
                    throw TestClientError(description: "bad chunk size \(sizeLine)")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                body += try readExactly(size)
                _ = try readLine()
            }
            response.body = body
        } else if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = try readExactly(length)
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Reads raw bytes until `count` are available.
    public func readBytes(_ count: Int) throws -> [UInt8] {
        try readExactly(count)
    }

    /// True when the peer closes the connection within the receive timeout (bytes before it are dropped).
    public func waitForClose() -> Bool {
        do {
            while try fill() { buffer.removeAll() }
            return true
        } catch {
            return peerClosed
        }
    }
}

extension StringProtocol {
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
