import NIOCore

/// Finds the boundaries of upstream HTTP/1.x responses in a raw byte stream, so responses are
/// relayed as slices of the read buffer instead of being decoded and encoded again.
///
/// Strict on purpose: it takes over the checks a full parser would do (bare LF, obsolete folding,
/// conflicting Content-Length, chunk syntax), because a lenient framer is how response splitting
/// and desynchronised keep-alive connections happen.
struct ResponseFramer {
    static let maxHeadBytes = 64 * 1024

    private enum State {
        /// No request outstanding: any byte is an error.
        case idle
        case head
        case length(remaining: Int64)
        case chunked(ChunkedFraming.State)
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
            guard let (slice, left) = buffer.readBodySlice(remaining: remaining) else { return nil }
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
        case .chunked(let chunkState):
            if buffer.readableBytes == 0 { return nil }
            return dechunk ? try nextDechunked(&buffer, chunkState) : try nextChunkedRaw(&buffer, chunkState)
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
            state = .chunked(ChunkedFraming.start)
        case .untilClose:
            state = .untilClose
        case .tunnel:
            state = .tunnel
        }
        return .head(result)
    }

    // MARK: Chunked

    /// Relays chunked bytes unchanged, validating their syntax; one slice per call.
    private mutating func nextChunkedRaw(
        _ buffer: inout ByteBuffer, _ start: ChunkedFraming.State
    ) throws(ResponseFramingError) -> ResponseEvent? {
        let startIndex = buffer.readerIndex
        let count = buffer.readableBytes
        var consumed = 0
        var finished = false
        var chunkState = start
        let failure: String? = buffer.withUnsafeReadableBytes { bytes in
            var i = 0
            while i < count {
                if case .data(let remaining) = chunkState {
                    let take = Int(min(Int64(count - i), remaining))
                    i += take
                    chunkState = remaining == Int64(take) ? .dataCR : .data(remaining: remaining - Int64(take))
                    continue
                }
                switch ChunkedFraming.step(&chunkState, byte: bytes[i]) {
                case .next, .data:
                    i += 1
                case .finished:
                    i += 1
                    finished = true
                case .error(let reason):
                    return reason
                }
                if finished { break }
            }
            consumed = i
            return nil
        }
        if let failure { throw ResponseFramingError(reason: failure) }
        state = .chunked(chunkState)
        let slice = buffer.getSlice(at: startIndex, length: consumed) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: consumed)
        if finished {
            pendingEnd = true
            state = .idle
        }
        return .body(slice)
    }

    /// Emits only chunk data (for HTTP/1.0 clients); framing bytes are validated and dropped.
    private mutating func nextDechunked(
        _ buffer: inout ByteBuffer, _ start: ChunkedFraming.State
    ) throws(ResponseFramingError) -> ResponseEvent? {
        var chunkState = start
        defer { if case .chunked = state { state = .chunked(chunkState) } }
        while buffer.readableBytes > 0 {
            if case .data(let remaining) = chunkState {
                let take = Int(min(Int64(buffer.readableBytes), remaining))
                let slice = buffer.readSlice(length: take) ?? ByteBuffer()
                chunkState = remaining == Int64(take) ? .dataCR : .data(remaining: remaining - Int64(take))
                return .body(slice)
            }
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            switch ChunkedFraming.step(&chunkState, byte: byte) {
            case .next, .data:
                continue
            case .finished:
                state = .idle
                return .end
            case .error(let reason):
                throw ResponseFramingError(reason: reason)
            }
        }
        return nil
    }

    /// RFC 9110 token characters (digits, letters and ``!#$%&'*+-.^_`|~``), one bit per ASCII byte: a shift and a
    /// mask per byte instead of a chain of range checks.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        let bits: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && (bits >> UInt64(byte & 63)) & 1 == 1
    }
}
