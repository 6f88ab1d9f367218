#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// Why a client's bytes cannot be served: the status to answer with (400, 414, 431) and a short reason.
struct RequestFramingError: Error, Equatable {
    var status: Int
    var message: String

    static func malformed(_ reason: String) -> RequestFramingError {
        RequestFramingError(status: 400, message: "malformed request: \(reason)")
    }
}

/// A parsed request head. The header fields stay in the received bytes (`headers`); `facts` holds what one
/// pass over them found (framing, connection handling, forwarding headers).
struct RequestHead {
    var method: HTTPMethod
    var uri: String
    var minorVersion: Int
    var headers: RequestHeaders
    var facts: RequestFacts
}

/// One strict pass over a request head (RFC 9112): a token method, an ASCII request target, `HTTP/1.0` or
/// `HTTP/1.1`, and header lines of a token name, a colon and field bytes, each ended by CRLF. Anything
/// else (a bare CR or LF, obsolete line folding, whitespace before the colon, control bytes) is refused:
/// this is where request smuggling is stopped, so nothing is guessed.
struct RequestHeadParser {
    let maxURILength: Int
    let maxHeadBytes: Int
    let maxHeaderCount: Int

    init(limits: ProxyLimits) {
        maxURILength = limits.maxURILength
        maxHeadBytes = limits.maxHeaderBytes + limits.maxURILength
        maxHeaderCount = limits.maxHeaderCount
    }

    /// Longest request line accepted before its end is seen.
    var maxLineBytes: Int { maxURILength + 64 }

    /// The head at the front of `buffer`, consumed; nil (nothing consumed) when it is not complete yet.
    func parse(_ buffer: inout ByteBuffer, fields: inout [RequestHeaders.Field]) throws(RequestFramingError) -> RequestHead? {
        let scanned: Result<Scan?, RequestFramingError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(RequestFramingError) {
                return .success(try self.scan(bytes, fields: &fields))
            } catch {
                return .failure(error)
            }
        }
        let found: Scan
        switch scanned {
        case .success(.some(let value)): found = value
        case .success(.none):
            if buffer.readableBytes > maxHeadBytes {
                throw RequestFramingError(status: 431, message: "request header fields too large")
            }
            return nil
        case .failure(let error): throw error
        }
        let scan = found
        buffer.moveReaderIndex(forwardBy: scan.skipped)
        let bytes = buffer.readSlice(length: scan.length - scan.skipped) ?? ByteBuffer()
        if scan.skipped > 0 {
            let shift = Int32(scan.skipped)
            for i in fields.indices {
                fields[i].nameStart -= shift
                fields[i].nameEnd -= shift
                fields[i].valueStart -= shift
                fields[i].valueEnd -= shift
                fields[i].lineEnd -= shift
            }
        }
        let headers = RequestHeaders(bytes: bytes, fields: fields)
        // The head is built and its facts read in one closure, and returned from it: the facts read straight into
        // the head (built apart and stored, every string was copied), and no closure captures the head after it
        // is built (that cost one more copy and destroy of its seven strings; one copy, into the result, is left).
        var head = bytes.withUnsafeReadableBytes { raw in
            let methodBytes = UnsafeRawBufferPointer(rebasing: raw[(scan.method.lowerBound - scan.skipped)..<(scan.method.upperBound - scan.skipped)])
            let target = UnsafeRawBufferPointer(rebasing: raw[(scan.target.lowerBound - scan.skipped)..<(scan.target.upperBound - scan.skipped)])
            var head = RequestHead(method: Self.method(methodBytes), uri: String(decoding: target, as: UTF8.self),
                                   minorVersion: scan.minorVersion, headers: headers, facts: RequestFacts())
            head.facts.read(raw, headers.fields)
            return head
        }
        if scan.minorVersion == 0 && head.facts.chunked && head.facts.invalid == nil {
            // HTTP/1.0 has no transfer codings: a peer that ignores the header would read the body differently
            // (RFC 9112 §6.1 calls this faulty framing).
            head.facts.invalid = "Transfer-Encoding in an HTTP/1.0 request"
        }
        return head
    }

    struct Scan {
        var skipped = 0
        var length = 0
        var method: Range<Int> = 0..<0
        var target: Range<Int> = 0..<0
        var minorVersion = 1
    }

    func scan(_ bytes: UnsafeRawBufferPointer, fields: inout [RequestHeaders.Field]) throws(RequestFramingError) -> Scan? {
        var result = Scan()
        let count = bytes.count
        fields.removeAll(keepingCapacity: true)
        // Empty lines before a request line are ignored (RFC 9112 §2.2), a few of them.
        var start = 0
        while start + 1 < count && bytes[start] == UInt8(ascii: "\r") && bytes[start + 1] == UInt8(ascii: "\n") {
            start += 2
            guard start <= 8 else { throw .malformed("empty lines before the request line") }
        }
        if start < count && bytes[start] == UInt8(ascii: "\n") { throw .malformed("bare LF") }
        if start + 1 == count && bytes[start] == UInt8(ascii: "\r") { return nil }
        result.skipped = start

        // Request line: method SP request-target SP HTTP/1.x CRLF
        var i = HeadScan.tokenEnd(bytes, from: start, to: count)
        if i == count { return try incompleteLine(count - start) }
        guard i > start, bytes[i] == UInt8(ascii: " ") else { throw .malformed("invalid method") }
        result.method = start..<i
        i += 1
        let targetStart = i
        while i < count {
            let byte = bytes[i]
            if byte > 0x20 && byte < 0x7F {
                i += 1
                continue
            }
            if byte == UInt8(ascii: " ") { break }
            throw byte >= 0x80 ? .malformed("non-ASCII byte in request target") : .malformed("invalid byte in request target")
        }
        if i - targetStart > maxURILength { throw RequestFramingError(status: 414, message: "request URI too long") }
        if i == count { return try incompleteLine(count - start) }
        guard i > targetStart else { throw .malformed("empty request target") }
        guard Self.isRequestTargetForm(UnsafeRawBufferPointer(rebasing: bytes[targetStart..<i])) else {
            throw .malformed("request target is not a path, an absolute URI or *")
        }
        result.target = targetStart..<i
        i += 1
        // "HTTP/1.x\r\n"
        guard count - i >= 10 else {
            for (offset, expected) in "HTTP/1.".utf8.enumerated() where i + offset < count && bytes[i + offset] != expected {
                throw .malformed("unsupported HTTP version")
            }
            return try incompleteLine(count - start)
        }
        guard bytes[i] == UInt8(ascii: "H"), bytes[i + 1] == UInt8(ascii: "T"), bytes[i + 2] == UInt8(ascii: "T"),
            bytes[i + 3] == UInt8(ascii: "P"), bytes[i + 4] == UInt8(ascii: "/"), bytes[i + 5] == UInt8(ascii: "1"),
            bytes[i + 6] == UInt8(ascii: "."),
            bytes[i + 7] == UInt8(ascii: "0") || bytes[i + 7] == UInt8(ascii: "1")
        else { throw .malformed("unsupported HTTP version") }
        guard bytes[i + 8] == UInt8(ascii: "\r"), bytes[i + 9] == UInt8(ascii: "\n") else {
            throw .malformed("request line not ended by CRLF")
        }
        result.minorVersion = Int(bytes[i + 7] &- UInt8(ascii: "0"))
        i += 10

        // Header lines, then the empty line.
        while true {
            if i - start > maxHeadBytes { throw RequestFramingError(status: 431, message: "request header fields too large") }
            guard i < count else { return nil }
            let first = bytes[i]
            if first == UInt8(ascii: "\r") {
                guard i + 1 < count else { return nil }
                guard bytes[i + 1] == UInt8(ascii: "\n") else { throw .malformed("bare CR in request head") }
                result.length = i + 2
                return result
            }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { throw .malformed("obsolete line folding") }
            let nameStart = i
            i = HeadScan.tokenEnd(bytes, from: i, to: count)
            guard i < count else { return nil }
            guard bytes[i] == UInt8(ascii: ":"), i > nameStart else {
                throw bytes[i] == UInt8(ascii: "\n") || bytes[i] == UInt8(ascii: "\r")
                    ? .malformed("header line without a colon") : .malformed("invalid header name")
            }
            let nameEnd = i
            i += 1
            while i < count && (bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t")) { i += 1 }
            let valueStart = i
            var valueEnd = i
            if let cr = Self.index(of: UInt8(ascii: "\r"), in: bytes, from: i), HeadScan.allFieldBytes(bytes, i, cr) {
                // The usual case, checked eight bytes at a time; anything odd takes the loop below for its error.
                valueEnd = cr
                while valueEnd > valueStart && (bytes[valueEnd - 1] == UInt8(ascii: " ") || bytes[valueEnd - 1] == UInt8(ascii: "\t")) {
                    valueEnd -= 1
                }
                i = cr
            } else {
                while i < count {
                    let byte = bytes[i]
                    if byte == UInt8(ascii: "\r") { break }
                    guard HeadScan.isFieldByte(byte) else {
                        throw byte == UInt8(ascii: "\n") ? .malformed("bare LF in request head") : .malformed("invalid byte in header value")
                    }
                    i += 1
                    if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") { valueEnd = i }
                }
            }
            guard i + 1 < count else { return nil }
            guard bytes[i + 1] == UInt8(ascii: "\n") else { throw .malformed("bare CR in request head") }
            i += 2
            guard fields.count < maxHeaderCount else {
                throw RequestFramingError(status: 431, message: "too many request header fields")
            }
            fields.append(RequestHeaders.Field(
                nameStart: Int32(nameStart), nameEnd: Int32(nameEnd), valueStart: Int32(valueStart),
                valueEnd: Int32(valueEnd), lineEnd: Int32(i)))
        }
    }

    /// Index of the first `byte` at or after `from`, or nil. libc's `memchr` looks at many bytes per step.
    @inline(__always)
    private static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + from, CInt(byte), bytes.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// More bytes are needed to finish the request line: fine unless the line is already too long.
    private func incompleteLine(_ length: Int) throws(RequestFramingError) -> Scan? {
        if length > maxLineBytes { throw RequestFramingError(status: 414, message: "request line too long") }
        return nil
    }

    /// Origin form (`/path`), absolute form (`scheme://…`) or asterisk form (`*`); CONNECT's authority form
    /// is refused later with the method.
    static func isRequestTargetForm(_ target: UnsafeRawBufferPointer) -> Bool {
        if target[0] == UInt8(ascii: "/") { return true }
        if target.count == 1 { return target[0] == UInt8(ascii: "*") }
        var i = 0
        while i < target.count {
            let byte = target[i]
            let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            if isLetter || (i > 0 && (HeadScan.digit(byte) != nil || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "."))) {
                i += 1
                continue
            }
            break
        }
        guard i > 0, i + 3 <= target.count else { return false }
        return target[i] == UInt8(ascii: ":") && target[i + 1] == UInt8(ascii: "/") && target[i + 2] == UInt8(ascii: "/")
    }

    /// The method, without a string for the common ones: up to seven bytes read as one little-endian integer
    /// and compared with each name's (a byte-by-byte comparison per name cost about 200 instructions a request).
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        if bytes.count <= 7 {
            var packed: UInt64 = 0
            for i in 0..<bytes.count { packed |= UInt64(bytes[i]) << (8 * UInt64(i)) }
            switch packed {
            case 0x54_45_47: return .GET  // "GET": the first byte is the lowest
            case 0x54_55_50: return .PUT
            case 0x54_53_4F_50: return .POST
            case 0x44_41_45_48: return .HEAD
            case 0x48_43_54_41_50: return .PATCH
            case 0x45_54_45_4C_45_44: return .DELETE
            case 0x53_4E_4F_49_54_50_4F: return .OPTIONS
            case 0x54_43_45_4E_4E_4F_43: return .CONNECT
            default: break
            }
        }
        return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
    }
}
