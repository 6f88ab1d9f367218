#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One strict pass over an upstream response head: status line, framing headers and the
/// hop-by-hop header lines that must not be relayed. Nothing is copied.
struct HeadScan {
    var length = 0
    var status = 0
    var minorVersion = 1
    var contentLength: Int64? = nil
    var contentLengthLine: Range<Int>? = nil
    var transferEncoding: Range<Int>? = nil
    var transferEncodingLine: Range<Int>? = nil
    var chunked = false
    var connectionClose = false
    var connectionKeepAlive = false
    var dropped = LineRanges()

    /// The scanned head, or nil when `bytes` does not hold a complete head yet.
    static func scan(_ bytes: UnsafeRawBufferPointer) throws(ResponseFramingError) -> HeadScan? {
        var scan = HeadScan()
        let count = bytes.count
        // Status line: "HTTP/1.x SSS[ reason]\r\n".
        guard let statusEnd = lineEnd(bytes, from: 0) else {
            if count >= 5 && !(bytes[0] == UInt8(ascii: "H") && bytes[1] == UInt8(ascii: "T")
                && bytes[2] == UInt8(ascii: "T") && bytes[3] == UInt8(ascii: "P") && bytes[4] == UInt8(ascii: "/")) {
                throw ResponseFramingError(reason: "not an HTTP/1.x status line")
            }
            return nil
        }
        let lineEnd0 = try checkedLineEnd(bytes, statusEnd)
        guard lineEnd0 >= 12,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[5] == UInt8(ascii: "1"),
            bytes[6] == UInt8(ascii: "."),
            bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1"),
            bytes[8] == UInt8(ascii: " "),
            let s0 = digit(bytes[9]), let s1 = digit(bytes[10]), let s2 = digit(bytes[11]),
            lineEnd0 == 12 || bytes[12] == UInt8(ascii: " ")
        else {
            throw ResponseFramingError(reason: "invalid status line")
        }
        scan.minorVersion = Int(bytes[7] &- UInt8(ascii: "0"))
        scan.status = s0 * 100 + s1 * 10 + s2
        guard scan.status >= 100 && scan.status <= 599 else {
            throw ResponseFramingError(reason: "invalid status code \(scan.status)")
        }
        guard HeadScan.allFieldBytes(bytes, 12, lineEnd0) else {
            throw ResponseFramingError(reason: "invalid byte in reason phrase")
        }
        var lineStart = statusEnd + 1
        while true {
            guard let lf = lineEnd(bytes, from: lineStart) else { return nil }
            let end = try checkedLineEnd(bytes, lf)
            if end == lineStart {
                scan.length = lf + 1
                return scan
            }
            try scan.header(bytes, start: lineStart, end: end, next: lf + 1)
            lineStart = lf + 1
        }
    }

    private mutating func header(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int, next: Int) throws(ResponseFramingError) {
        let first = bytes[start]
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            throw ResponseFramingError(reason: "obsolete line folding in response header")
        }
        let colon = HeadScan.tokenEnd(bytes, from: start, to: end)
        if colon < end && bytes[colon] != UInt8(ascii: ":") {
            throw ResponseFramingError(reason: "invalid response header name")
        }
        guard colon < end, colon > start else { throw ResponseFramingError(reason: "invalid response header line") }
        var valueStart = colon + 1
        var valueEnd = end
        guard HeadScan.allFieldBytes(bytes, valueStart, valueEnd) else {
            throw ResponseFramingError(reason: "invalid byte in response header value")
        }
        while valueStart < valueEnd && HeadScan.isOWS(bytes[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && HeadScan.isOWS(bytes[valueEnd - 1]) { valueEnd -= 1 }
        let nameLength = colon - start
        let line = start..<next
        switch nameLength {
        case 14 where HeadScan.equalsLowercase(bytes, start, "content-length"):
            var value: Int64 = 0
            guard valueEnd > valueStart, valueEnd - valueStart <= 18 else {
                throw ResponseFramingError(reason: "invalid Content-Length")
            }
            for i in valueStart..<valueEnd {
                guard let d = HeadScan.digit(bytes[i]) else { throw ResponseFramingError(reason: "invalid Content-Length") }
                value = value * 10 + Int64(d)
            }
            if let existing = contentLength, existing != value {
                throw ResponseFramingError(reason: "conflicting Content-Length values")
            }
            if contentLength != nil { dropped.append(line) }  // an equal duplicate is relayed once
            contentLength = value
            contentLengthLine = contentLengthLine ?? line
        case 17 where HeadScan.equalsLowercase(bytes, start, "transfer-encoding"):
            guard transferEncoding == nil else {
                throw ResponseFramingError(reason: "repeated Transfer-Encoding")
            }
            transferEncoding = valueStart..<valueEnd
            transferEncodingLine = line
            // Chunked only when it is the final coding.
            var tokenStart = valueEnd
            while tokenStart > valueStart && bytes[tokenStart - 1] != UInt8(ascii: ",") { tokenStart -= 1 }
            while tokenStart < valueEnd && HeadScan.isOWS(bytes[tokenStart]) { tokenStart += 1 }
            chunked = valueEnd - tokenStart == 7 && HeadScan.equalsLowercase(bytes, tokenStart, "chunked")
        case 10 where HeadScan.equalsLowercase(bytes, start, "connection"):
            if status != 101 { dropped.append(line) }  // a 101 must keep `Connection: upgrade`
            scanConnectionTokens(bytes, valueStart, valueEnd)
        case 10 where HeadScan.equalsLowercase(bytes, start, "keep-alive"):
            dropped.append(line)
        case 16 where HeadScan.equalsLowercase(bytes, start, "proxy-connection"):
            dropped.append(line)
        default:
            break
        }
    }

    private mutating func scanConnectionTokens(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        var i = start
        while i < end {
            while i < end && (HeadScan.isOWS(bytes[i]) || bytes[i] == UInt8(ascii: ",")) { i += 1 }
            let tokenStart = i
            while i < end && bytes[i] != UInt8(ascii: ",") { i += 1 }
            var tokenEnd = i
            while tokenEnd > tokenStart && HeadScan.isOWS(bytes[tokenEnd - 1]) { tokenEnd -= 1 }
            switch tokenEnd - tokenStart {
            case 5 where HeadScan.equalsLowercase(bytes, tokenStart, "close"):
                connectionClose = true
            case 10 where HeadScan.equalsLowercase(bytes, tokenStart, "keep-alive"):
                connectionKeepAlive = true
            default:
                break
            }
        }
    }

    /// Index of the next LF at or after `from`, or nil. libc's `memchr` looks at many bytes per step.
    @inline(__always)
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + from, 0x0A, bytes.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The index of the first byte in `from..<to` that is not a token byte (RFC 9110's `tchar`), or `to`.
    /// Eight bytes at a time while they are letters, digits or '-' (every common header name); any other byte is
    /// looked at alone with `ResponseFramer.isTokenByte`.
    @inline(__always)
    static func tokenEnd(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        var i = from
        while i + 8 <= to {
            let plain = plainTokenBytes(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if plain == 0x8080_8080_8080_8080 {
                i += 8
                continue
            }
            // The first byte that is not a letter, digit or '-': the name may still go on ('_', '.', ...).
            i += (~plain & 0x8080_8080_8080_8080).trailingZeroBitCount >> 3
            guard ResponseFramer.isTokenByte(bytes[i]) else { return i }
            i += 1
        }
        while i < to && ResponseFramer.isTokenByte(bytes[i]) { i += 1 }
        return i
    }

    /// The high bit of each byte of the result is set exactly when that byte of `word` is an ASCII letter, digit
    /// or '-'. Every step is exact per byte: no carry or borrow crosses from one byte into the next.
    @inline(__always)
    static func plainTokenBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let low7 = word & ~highs  // each byte below 0x80, so adding up to 0x7F never carries out of it
        let ascii = ~word & highs
        // Letters: folded to lower case ('A' | 0x20 == 'a'; only 0x41-0x5A and 0x61-0x7A fold into 'a'...'z').
        let folded = low7 | (0x20 &* ones)
        let letter = (folded &+ (0x80 - 0x61) &* ones) & ~(folded &+ (0x80 - 0x7B) &* ones)
        let digit = (low7 &+ (0x80 - 0x30) &* ones) & ~(low7 &+ (0x80 - 0x3A) &* ones)
        let dashDiff = low7 ^ (0x2D &* ones)
        let dash = ~((dashDiff &+ (0x7F &* ones)) | dashDiff)  // high bit set only where dashDiff's byte is 0
        return (letter | digit | dash) & ascii & highs
    }

    /// Whether every byte in `from..<to` is a field byte (`isFieldByte`). Eight bytes at a time: a word with no
    /// byte below 0x20 and none equal to 0x7F is all field bytes; only a word that may hold a tab (or a bad byte)
    /// is looked at byte by byte. A head is nearly always valid, and tabs in it are rare.
    @inline(__always)
    static func allFieldBytes(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool {
        var i = from
        while i + 8 <= to {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if mayHoldNonFieldByte(word) && !allFieldBytesSlowly(bytes, i, i + 8) { return false }
            i += 8
        }
        if i == to { return true }
        // The last few bytes as one word too: the range's last eight (looked at twice), or, for a range shorter
        // than a word, eight bytes from its start with those past its end replaced by a letter.
        if to - from >= 8 {
            let word = bytes.loadUnaligned(fromByteOffset: to - 8, as: UInt64.self)
            return !mayHoldNonFieldByte(word) || allFieldBytesSlowly(bytes, to - 8, to)
        }
        if i + 8 <= bytes.count {
            let kept = UInt64.max >> UInt64(64 - 8 * (to - i))  // 1 to 7 bytes
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & kept | 0x6161_6161_6161_6161 & ~kept
            return !mayHoldNonFieldByte(word) || allFieldBytesSlowly(bytes, i, to)
        }
        return allFieldBytesSlowly(bytes, i, to)
    }

    /// True when some byte of `word` is below 0x20 or is 0x7F (exact: the borrows of the subtraction only start
    /// at a byte that is itself below 0x20).
    @inline(__always)
    static func mayHoldNonFieldByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below = (word &- 0x20 &* ones) & ~word & highs
        let del = word ^ (0x7F &* ones)
        let isDel = (del &- ones) & ~del & highs
        return below | isDel != 0
    }

    /// The same check, one byte at a time, without early exits (the loop stays branch-free). Not inlined: it is
    /// rarely needed, and inlined, its vector set-up ran on every call of the functions it went into.
    @inline(never)
    static func allFieldBytesSlowly(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool {
        var i = from
        var bad: UInt8 = 0
        while i < to {
            let byte = bytes[i]
            // Control bytes other than tab (0x00-0x08, 0x0A-0x1F) and DEL.
            bad |= (byte < 0x20 && byte != 0x09 ? 1 : 0) | (byte == 0x7F ? 1 : 0)
            i += 1
        }
        return bad == 0
    }

    /// The line's end before its CR; a bare LF is an error.
    @inline(__always)
    private static func checkedLineEnd(_ bytes: UnsafeRawBufferPointer, _ lf: Int) throws(ResponseFramingError) -> Int {
        guard lf > 0, bytes[lf - 1] == UInt8(ascii: "\r") else {
            throw ResponseFramingError(reason: "bare LF in response head")
        }
        return lf - 1
    }

    @inline(__always)
    static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte &- UInt8(ascii: "0")) : nil
    }

    /// Visible ASCII, obs-text, space and tab; never CR, LF, NUL or other controls.
    @inline(__always)
    static func isFieldByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    @inline(__always)
    private static func isOWS(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// Compares bytes at `start` with a lower-case ASCII literal, ignoring case. `| 0x20` folds letters; for '-'
    /// (0x2D) it is a no-op, so the literal's punctuation still matches (the bytes compared are token or field
    /// bytes, never a CR that would fold into '-'). Eight bytes at a time from eight on: the last word overlaps.
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard start + length <= bytes.count else { return false }
        let pointer = literal.utf8Start
        guard length >= 8 else {
            for i in 0..<length where bytes[start + i] | 0x20 != pointer[i] { return false }
            return true
        }
        let fold: UInt64 = 0x2020_2020_2020_2020
        let text = UnsafeRawPointer(pointer)
        var i = 0
        while i + 8 < length {
            let word = bytes.loadUnaligned(fromByteOffset: start + i, as: UInt64.self) | fold
            guard word == text.loadUnaligned(fromByteOffset: i, as: UInt64.self) else { return false }
            i += 8
        }
        let last = bytes.loadUnaligned(fromByteOffset: start + length - 8, as: UInt64.self) | fold
        return last == text.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
    }
}
