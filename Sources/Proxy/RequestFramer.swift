#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// What the client's byte stream holds next.
enum RequestEvent {
    case head(RequestHead)
    /// Request body bytes, with chunked framing removed.
    case body(ByteBuffer)
    case end
    /// Bytes after a request that asked for a protocol upgrade: relayed unchanged if the upstream
    /// switches protocols.
    case raw(ByteBuffer)
}

/// Splits a client connection's bytes into requests: heads (parsed strictly by `RequestHeadParser`),
/// bodies by Content-Length or chunked coding, and raw bytes after an upgrade request.
///
/// After an error or a head the proxy will refuse (`facts.invalid`), nothing more is read from the
/// stream: framing past a malformed message would be guessing.
struct RequestFramer {
    private enum State {
        case head
        case length(remaining: Int64)
        case chunked(ChunkedFraming.State)
        case raw
        case stopped
    }

    private let parser: RequestHeadParser
    private var state = State.head
    /// Bytes of a head split across reads.
    private var partialHead: ByteBuffer? = nil
    /// Field offsets, reused from request to request.
    private var fields: [RequestHeaders.Field] = []
    private var pendingEnd = false
    /// The request being read asked for an upgrade: after its body, bytes are relayed raw.
    private var upgradeAfterBody = false

    init(limits: ProxyLimits) {
        parser = RequestHeadParser(limits: limits)
    }

    /// Between requests, or inside a head (not inside a body or tunnel).
    var awaitingHead: Bool {
        if case .head = state { return !pendingEnd }
        return false
    }

    /// Bytes of an incomplete head held so far.
    var partialHeadBytes: Int { partialHead?.readableBytes ?? 0 }

    /// Stops framing: later bytes are dropped.
    mutating func stop() {
        state = .stopped
        partialHead = nil
    }

    /// The next event in `buffer`, consuming what it covers; nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(RequestFramingError) -> RequestEvent? {
        if pendingEnd {
            pendingEnd = false
            return .end
        }
        switch state {
        case .head:
            return try nextHead(&buffer)
        case .length(let remaining):
            guard let (slice, left) = buffer.readBodySlice(remaining: remaining) else { return nil }
            if left == 0 {
                state = upgradeAfterBody ? .raw : .head
                pendingEnd = true
            } else {
                state = .length(remaining: left)
            }
            return .body(slice)
        case .chunked(let chunkState):
            return try nextChunked(&buffer, chunkState)
        case .raw:
            if buffer.readableBytes == 0 { return nil }
            return .raw(buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer())
        case .stopped:
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
    }

    private mutating func nextHead(_ buffer: inout ByteBuffer) throws(RequestFramingError) -> RequestEvent? {
        if buffer.readableBytes == 0 { return nil }
        if var pending = partialHead {
            // Rescan only when a line may have ended, so a head that trickles in costs linear time.
            let lineEnded = Self.containsLineFeed(buffer)
            partialHead = nil
            pending.writeImmutableBuffer(buffer)
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            if !lineEnded {
                try checkIncomplete(pending)
                partialHead = pending
                return nil
            }
            guard let event = try parseHead(&pending) else {
                partialHead = pending
                return nil
            }
            if pending.readableBytes > 0 { buffer = pending }
            return event
        }
        if let event = try parseHead(&buffer) { return event }
        partialHead = buffer.readSlice(length: buffer.readableBytes)
        return nil
    }

    /// Refuses an incomplete head that is already too long; like every framing error, it stops the framer.
    private mutating func checkIncomplete(_ pending: ByteBuffer) throws(RequestFramingError) {
        var error: RequestFramingError? = nil
        if !Self.containsLineFeed(pending) && pending.readableBytes > parser.maxLineBytes {
            error = RequestFramingError(status: 414, message: "request line too long")
        } else if pending.readableBytes > parser.maxHeadBytes {
            error = RequestFramingError(status: 431, message: "request header fields too large")
        }
        if let error {
            stop()
            throw error
        }
    }

    private mutating func parseHead(_ buffer: inout ByteBuffer) throws(RequestFramingError) -> RequestEvent? {
        let head: RequestHead?
        do {
            head = try parser.parse(&buffer, fields: &fields)
        } catch {
            stop()
            throw error
        }
        guard let head else { return nil }
        let facts = head.facts
        upgradeAfterBody = facts.connectionUpgrade && facts.upgrade != nil
        if facts.invalid != nil {
            stop()
        } else if facts.chunked {
            state = .chunked(ChunkedFraming.start)
        } else if let length = facts.contentLength, length > 0 {
            state = .length(remaining: length)
        } else {
            state = upgradeAfterBody ? .raw : .head
            pendingEnd = true
        }
        return .head(head)
    }

    private mutating func nextChunked(
        _ buffer: inout ByteBuffer, _ start: ChunkedFraming.State
    ) throws(RequestFramingError) -> RequestEvent? {
        var chunkState = start
        while buffer.readableBytes > 0 {
            if case .data(let remaining) = chunkState {
                let take = Int(min(Int64(buffer.readableBytes), remaining))
                let slice = buffer.readSlice(length: take) ?? ByteBuffer()
                chunkState = remaining == Int64(take) ? .dataCR : .data(remaining: remaining - Int64(take))
                state = .chunked(chunkState)
                return .body(slice)
            }
            guard let byte = buffer.readInteger(as: UInt8.self) else { break }
            switch ChunkedFraming.step(&chunkState, byte: byte) {
            case .next, .data:
                continue
            case .finished:
                state = upgradeAfterBody ? .raw : .head
                return .end
            case .error(let reason):
                stop()
                throw .malformed(reason)
            }
        }
        state = .chunked(chunkState)
        return nil
    }

    static func containsLineFeed(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
            return memchr(base, 0x0A, bytes.count) != nil
        }
    }
}
