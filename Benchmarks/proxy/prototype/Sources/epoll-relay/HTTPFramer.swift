import Glibc

/// The minimum HTTP/1.1 work a proxy must do on each message to know where it ends: find the end of
/// the head (line ends by `memchr`), read the first line (a request line with a space, or a status
/// line with its three-digit code), find `Content-Length`, and skip that many body bytes. Streaming:
/// a head may arrive in pieces; the part of a line that spans two reads is kept in a bounded buffer.
///
/// Not handled (the prototype closes the connection pair instead): `Transfer-Encoding`, responses
/// without `Content-Length` (other than 1xx, 204, 304), conflicting `Content-Length` values, lines
/// longer than `maxLine` and heads longer than `maxHead`. Responses to `HEAD` are not tracked.
struct HTTPFramer {
    static let maxLine = 8192
    static let maxHead = 65536

    let isResponse: Bool
    private var inHead = true
    private var firstLine = true
    private var bodyLeft = 0
    private var headBytes = 0
    private var contentLength = -1
    private var sawTransferEncoding = false
    private var noBody = false
    private let carry: UnsafeMutableRawPointer
    private var carryLen = 0
    /// Messages whose head ended (for the final check that parsing happened).
    private(set) var heads = 0

    init(isResponse: Bool) {
        self.isResponse = isResponse
        carry = UnsafeMutableRawPointer.allocate(byteCount: Self.maxLine, alignment: 16)
    }

    /// The slot table owns framers for the life of the process; this frees the line buffer.
    func free() { carry.deallocate() }

    mutating func reset() {
        inHead = true
        firstLine = true
        bodyLeft = 0
        headBytes = 0
        contentLength = -1
        sawTransferEncoding = false
        noBody = false
        carryLen = 0
    }

    /// Consumes `n` bytes at `p`; false if the stream is malformed or uses framing the prototype
    /// does not support.
    mutating func consume(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if !inHead {
                let take = min(bodyLeft, n - i)
                i += take
                bodyLeft -= take
                if bodyLeft == 0 { startHead() }
                continue
            }
            guard let nlRaw = memchr(p + i, 0x0A, n - i) else {
                // The line continues in the next read.
                let rest = n - i
                guard carryLen + rest <= Self.maxLine else { return false }
                (carry + carryLen).copyMemory(from: p + i, byteCount: rest)
                carryLen += rest
                headBytes += rest
                return headBytes <= Self.maxHead
            }
            let nl = UnsafeRawPointer(nlRaw) - p
            let len = nl - i
            headBytes += len + 1
            guard headBytes <= Self.maxHead else { return false }
            let ok: Bool
            if carryLen > 0 {
                guard carryLen + len <= Self.maxLine else { return false }
                (carry + carryLen).copyMemory(from: p + i, byteCount: len)
                ok = line(UnsafeRawPointer(carry), carryLen + len)
                carryLen = 0
            } else {
                ok = line(p + i, len)
            }
            guard ok else { return false }
            i = nl + 1
        }
        return true
    }

    private mutating func startHead() {
        inHead = true
        firstLine = true
        headBytes = 0
        contentLength = -1
        sawTransferEncoding = false
        noBody = false
    }

    /// One line of a head, without its `\n`.
    private mutating func line(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
        var len = count
        if len > 0 && p.load(fromByteOffset: len - 1, as: UInt8.self) == 0x0D { len -= 1 }
        if len == 0 {
            if firstLine { return true }  // empty lines before a request line are ignored (RFC 9112 2.2)
            return endOfHead()
        }
        if firstLine {
            firstLine = false
            return isResponse ? statusLine(p, len) : requestLine(p, len)
        }
        let first = p.load(as: UInt8.self) | 0x20
        if first == UInt8(ascii: "c") && len >= 15 && Self.caseEqual(p, "content-length:") {
            return contentLengthValue(p + 15, len - 15)
        }
        if first == UInt8(ascii: "t") && len >= 18 && Self.caseEqual(p, "transfer-encoding:") {
            sawTransferEncoding = true
        }
        return true
    }

    private mutating func endOfHead() -> Bool {
        heads &+= 1
        if sawTransferEncoding { return false }
        let body: Int
        if isResponse && noBody {
            body = 0
        } else if contentLength >= 0 {
            body = contentLength
        } else if isResponse {
            return false  // close-delimited body: not supported here
        } else {
            body = 0
        }
        if body == 0 {
            startHead()
        } else {
            inHead = false
            bodyLeft = body
        }
        return true
    }

    private mutating func statusLine(_ p: UnsafeRawPointer, _ len: Int) -> Bool {
        // "HTTP/1.x NNN ..."
        guard len >= 12, Self.caseEqual(p, "http/1."), p.load(fromByteOffset: 8, as: UInt8.self) == 0x20 else {
            return false
        }
        var status = 0
        for k in 9..<12 {
            let d = p.load(fromByteOffset: k, as: UInt8.self) &- 0x30
            guard d <= 9 else { return false }
            status = status * 10 + Int(d)
        }
        noBody = status < 200 || status == 204 || status == 304
        return true
    }

    private func requestLine(_ p: UnsafeRawPointer, _ len: Int) -> Bool {
        // "METHOD target HTTP/1.x": a space after the method and the version at the end.
        guard len >= 14, memchr(p, 0x20, len) != nil else { return false }
        return Self.caseEqual(p + (len - 8), "http/1.")
    }

    private mutating func contentLengthValue(_ p: UnsafeRawPointer, _ len: Int) -> Bool {
        var k = 0
        while k < len, p.load(fromByteOffset: k, as: UInt8.self) == 0x20 || p.load(fromByteOffset: k, as: UInt8.self) == 0x09 {
            k += 1
        }
        var value = 0
        var digits = 0
        while k < len {
            let d = p.load(fromByteOffset: k, as: UInt8.self) &- 0x30
            if d > 9 { break }
            guard digits < 15 else { return false }
            value = value * 10 + Int(d)
            digits += 1
            k += 1
        }
        while k < len, p.load(fromByteOffset: k, as: UInt8.self) == 0x20 || p.load(fromByteOffset: k, as: UInt8.self) == 0x09 {
            k += 1
        }
        guard digits > 0, k == len else { return false }
        if contentLength >= 0 && contentLength != value { return false }
        contentLength = value
        return true
    }

    /// ASCII case-insensitive prefix comparison with a lower-case literal (letters, digits, '-', ':', '/', '.').
    private static func caseEqual(_ p: UnsafeRawPointer, _ literal: StaticString) -> Bool {
        let q = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount {
            let a = p.load(fromByteOffset: k, as: UInt8.self)
            let b = q[k]
            let folded = (a >= 0x41 && a <= 0x5A) ? a | 0x20 : a
            if folded != b { return false }
        }
        return true
    }
}
