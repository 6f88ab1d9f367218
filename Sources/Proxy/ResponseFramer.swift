import NIOCore

/// Finds the boundaries of upstream HTTP/1.x responses in a raw byte stream, so responses are
/// relayed as slices of the read buffer instead of being decoded and encoded again.
///
/// Strict on purpose: it takes over the checks a full parser would do (bare LF, obsolete folding,
/// conflicting Content-Length, chunk syntax), because a lenient framer is how response splitting
/// and desynchronised keep-alive connections happen.
struct ResponseFramer {
    static let maxHeadBytes = 64 * 1024
    static let maxChunkLineBytes = 4 * 1024

    private enum State {
        /// No request outstanding: any byte is an error.
        case idle
        case head
        case length(remaining: Int64)
        case chunkSize(value: Int64, digits: Int)
        case chunkExtension(size: Int64, length: Int)
        case chunkSizeLF(size: Int64)
        case chunkData(remaining: Int64)
        case chunkDataCR
        case chunkDataLF
        case trailerLineStart
        case trailerLine(length: Int)
        case trailerLF
        case finalLF
        case untilClose
        case tunnel
    }

    private var state: State = .idle
    private var requestIsHEAD = false
    private var dechunk = false
    private var pendingEnd = false
    /// Bytes of a head split across reads.
    private var partialHead: ByteBuffer? = nil

    /// True while a response is expected or being received.
    var isActive: Bool {
        if case .idle = state { return pendingEnd }
        return true
    }

    var isTunnel: Bool {
        if case .tunnel = state { return true }
        return false
    }

    /// Arms the framer for the response to one request.
    /// - Parameters:
    ///   - headRequest: the request was HEAD, so the response has no body whatever its headers say.
    ///   - dechunk: remove chunked framing (the client speaks HTTP/1.0).
    mutating func expectResponse(headRequest: Bool, dechunk: Bool) {
        self.state = .head
        self.requestIsHEAD = headRequest
        self.dechunk = dechunk
        self.pendingEnd = false
        self.partialHead = nil
    }

    /// The next event found in `buffer`, consuming what it covers; nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(ResponseFramingError) -> ResponseEvent? {
        if pendingEnd {
            pendingEnd = false
            state = .idle
            return .end
        }
        switch state {
        case .idle:
            if buffer.readableBytes == 0 { return nil }
            throw ResponseFramingError(reason: "bytes received with no request outstanding")
        case .head:
            return try nextHead(&buffer)
        case .length(let remaining):
            let available = buffer.readableBytes
            if available == 0 { return nil }
            let take = Int(min(Int64(available), remaining))
            // A slice never fails here: take <= readableBytes.
            let slice = buffer.readSlice(length: take) ?? ByteBuffer()
            let left = remaining - Int64(take)
            if left == 0 {
                pendingEnd = true
                state = .idle
            } else {
                state = .length(remaining: left)
            }
            return .body(slice)
        case .untilClose, .tunnel:
            if buffer.readableBytes == 0 { return nil }
            return .body(buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer())
        case .chunkSize, .chunkExtension, .chunkSizeLF, .chunkData, .chunkDataCR, .chunkDataLF,
            .trailerLineStart, .trailerLine, .trailerLF, .finalLF:
            if buffer.readableBytes == 0 { return nil }
            return dechunk ? try nextDechunked(&buffer) : try nextChunkedRaw(&buffer)
        }
    }

    /// The upstream closed its side. Completes a close-delimited body; anything else mid-response is an error.
    mutating func endOfInput() throws(ResponseFramingError) -> ResponseEvent? {
        switch state {
        case .untilClose, .tunnel:
            state = .idle
            return .end
        case .idle:
            if pendingEnd {
                pendingEnd = false
                return .end
            }
            return nil
        default:
            throw ResponseFramingError(reason: "upstream closed the connection mid-response")
        }
    }

    // MARK: Head

    private mutating func nextHead(_ buffer: inout ByteBuffer) throws(ResponseFramingError) -> ResponseEvent? {
        if var pending = partialHead {
            if buffer.readableBytes == 0 { return nil }
            partialHead = nil
            pending.writeImmutableBuffer(buffer)
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            guard let event = try parseHead(&pending) else {
                partialHead = pending
                return nil
            }
            // Bytes after the head belong to the body: hand them back in front of the caller's buffer.
            if pending.readableBytes > 0 { buffer = pending }
            return event
        }
        if buffer.readableBytes == 0 { return nil }
        if let event = try parseHead(&buffer) { return event }
        partialHead = buffer.readSlice(length: buffer.readableBytes)
        return nil
    }

    private mutating func parseHead(_ buffer: inout ByteBuffer) throws(ResponseFramingError) -> ResponseEvent? {
        let scan: Result<HeadScan?, ResponseFramingError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(ResponseFramingError) {
                return .success(try HeadScan.scan(bytes))
            } catch {
                return .failure(error)
            }
        }
        let found: HeadScan?
        switch scan {
        case .success(let value): found = value
        case .failure(let error): throw error
        }
        guard let head = found else {
            if buffer.readableBytes > Self.maxHeadBytes {
                throw ResponseFramingError(reason: "response head larger than \(Self.maxHeadBytes) bytes")
            }
            return nil
        }
        if head.length > Self.maxHeadBytes {
            throw ResponseFramingError(reason: "response head larger than \(Self.maxHeadBytes) bytes")
        }
        let bytes = buffer.readSlice(length: head.length) ?? ByteBuffer()
        var framing: BodyFraming
        var reusable = head.minorVersion == 1 ? !head.connectionClose : head.connectionKeepAlive
        var dropped = head.dropped
        let status = head.status
        if status == 101 {
            framing = .tunnel
            reusable = false
        } else if status < 200 {
            framing = .none
            reusable = true
        } else if requestIsHEAD || status == 204 || status == 304 {
            framing = .none
        } else if head.transferEncoding != nil {
            if head.chunked {
                framing = .chunked
                if let range = head.contentLengthLine {
                    // Both framings present: chunked wins, the length is not relayed and the connection ends.
                    dropped.append(range)
                    reusable = false
                }
                if dechunk, let range = head.transferEncodingLine { dropped.append(range) }
            } else {
                framing = .untilClose
                reusable = false
            }
        } else if let length = head.contentLength {
            framing = .length(length)
        } else {
            framing = .untilClose
            reusable = false
        }
        let result = ResponseHead(
            status: status, minorVersion: head.minorVersion, framing: framing, reusable: reusable,
            bytes: bytes, dropped: dropped
        )
        switch framing {
        case .none:
            if status < 200 && status != 101 {
                state = .head  // an informational response: the final one follows
            } else {
                pendingEnd = true
                state = .idle
            }
        case .length(let n):
            if n == 0 {
                pendingEnd = true
                state = .idle
            } else {
                state = .length(remaining: n)
            }
        case .chunked:
            state = .chunkSize(value: 0, digits: 0)
        case .untilClose:
            state = .untilClose
        case .tunnel:
            state = .tunnel
        }
        return .head(result)
    }

    // MARK: Chunked

    /// Relays chunked bytes unchanged, validating their syntax; one slice per call.
    private mutating func nextChunkedRaw(_ buffer: inout ByteBuffer) throws(ResponseFramingError) -> ResponseEvent? {
        let start = buffer.readerIndex
        let count = buffer.readableBytes
        var consumed = 0
        var finished = false
        var state = self.state
        let outcome: ResponseFramingError? = buffer.withUnsafeReadableBytes { bytes in
            var i = 0
            while i < count {
                if case .chunkData(let remaining) = state {
                    let take = Int(min(Int64(count - i), remaining))
                    i += take
                    state = remaining == Int64(take) ? .chunkDataCR : .chunkData(remaining: remaining - Int64(take))
                    continue
                }
                switch Self.step(&state, byte: bytes[i]) {
                case .next:
                    i += 1
                case .data:
                    i += 1
                case .finished:
                    i += 1
                    finished = true
                case .error(let error):
                    return error
                }
                if finished { break }
            }
            consumed = i
            return nil
        }
        if let outcome { throw outcome }
        self.state = state
        let slice = buffer.getSlice(at: start, length: consumed) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: consumed)
        if finished {
            pendingEnd = true
            self.state = .idle
        }
        return .body(slice)
    }

    /// Emits only chunk data (for HTTP/1.0 clients); framing bytes are validated and dropped.
    private mutating func nextDechunked(_ buffer: inout ByteBuffer) throws(ResponseFramingError) -> ResponseEvent? {
        while buffer.readableBytes > 0 {
            if case .chunkData(let remaining) = state {
                let take = Int(min(Int64(buffer.readableBytes), remaining))
                let slice = buffer.readSlice(length: take) ?? ByteBuffer()
                state = remaining == Int64(take) ? .chunkDataCR : .chunkData(remaining: remaining - Int64(take))
                return .body(slice)
            }
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            var state = self.state
            switch Self.step(&state, byte: byte) {
            case .next, .data:
                self.state = state
            case .finished:
                self.state = .idle
                return .end
            case .error(let error):
                throw error
            }
        }
        return nil
    }

    private enum Step {
        case next
        case data
        case finished
        case error(ResponseFramingError)
    }

    /// One byte of chunk framing (everything except chunk data, which callers skip by count).
    private static func step(_ state: inout State, byte: UInt8) -> Step {
        switch state {
        case .chunkSize(let value, let digits):
            if let digit = hexValue(byte) {
                guard digits < 15 else { return .error(.init(reason: "chunk size too large")) }
                state = .chunkSize(value: value << 4 | Int64(digit), digits: digits + 1)
                return .next
            }
            guard digits > 0 else { return .error(.init(reason: "invalid chunk size")) }
            switch byte {
            case UInt8(ascii: "\r"):
                state = .chunkSizeLF(size: value)
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                state = .chunkExtension(size: value, length: 1)
            default:
                return .error(.init(reason: "invalid chunk size"))
            }
            return .next
        case .chunkExtension(let size, let length):
            if byte == UInt8(ascii: "\r") {
                state = .chunkSizeLF(size: size)
                return .next
            }
            guard byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F) else {
                return .error(.init(reason: "invalid byte in chunk extension"))
            }
            guard length < maxChunkLineBytes else { return .error(.init(reason: "chunk extension too long")) }
            state = .chunkExtension(size: size, length: length + 1)
            return .next
        case .chunkSizeLF(let size):
            guard byte == UInt8(ascii: "\n") else { return .error(.init(reason: "chunk size line not ended by CRLF")) }
            if size == 0 {
                state = .trailerLineStart
            } else {
                state = .chunkData(remaining: size)
            }
            return .next
        case .chunkData:
            return .data
        case .chunkDataCR:
            guard byte == UInt8(ascii: "\r") else { return .error(.init(reason: "chunk data not followed by CRLF")) }
            state = .chunkDataLF
            return .next
        case .chunkDataLF:
            guard byte == UInt8(ascii: "\n") else { return .error(.init(reason: "chunk data not followed by CRLF")) }
            state = .chunkSize(value: 0, digits: 0)
            return .next
        case .trailerLineStart:
            if byte == UInt8(ascii: "\r") {
                state = .finalLF
                return .next
            }
            guard isTokenByte(byte) else { return .error(.init(reason: "invalid trailer field")) }
            state = .trailerLine(length: 1)
            return .next
        case .trailerLine(let length):
            if byte == UInt8(ascii: "\r") {
                state = .trailerLF
                return .next
            }
            guard byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F) else {
                return .error(.init(reason: "invalid byte in trailer"))
            }
            guard length < maxChunkLineBytes else { return .error(.init(reason: "trailer line too long")) }
            state = .trailerLine(length: length + 1)
            return .next
        case .trailerLF:
            guard byte == UInt8(ascii: "\n") else { return .error(.init(reason: "trailer not ended by CRLF")) }
            state = .trailerLineStart
            return .next
        case .finalLF:
            guard byte == UInt8(ascii: "\n") else { return .error(.init(reason: "chunked body not ended by CRLF")) }
            return .finished
        case .idle, .head, .length, .untilClose, .tunnel:
            return .error(.init(reason: "internal framing state"))
        }
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
