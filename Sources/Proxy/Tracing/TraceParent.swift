import NIOCore

/// A W3C trace context (`traceparent`): taken from the client when it sent a valid one, generated otherwise, and
/// sent upstream, so the access-log line, the upstream's own logs and any tracer share one trace id.
///
/// Switchyard records no spans, so it relays the client's parent id unchanged rather than naming a span nobody
/// can find. A generated context reuses the request id's 128 bits as its trace id (unique per node and loop
/// without coordination) and is marked sampled, so tracers that follow their parent record the request.
struct TraceParent: Equatable, Sendable {
    var traceHigh: UInt64
    var traceLow: UInt64
    var parentId: UInt64
    var flags: UInt8

    /// The context for a request that came without a usable one.
    init(generatedFrom id: RequestId) {
        traceHigh = id.prefix
        traceLow = id.counter
        // A non-zero span id derived from the counter (SplitMix64's finaliser), distinct per request.
        var z = id.counter &+ id.prefix &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        parentId = z == 0 ? 1 : z
        flags = 0x01
    }

    init(traceHigh: UInt64, traceLow: UInt64, parentId: UInt64, flags: UInt8) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.parentId = parentId
        self.flags = flags
    }

    /// Parses a `traceparent` value as the W3C Trace Context spec says a receiver must: version `00` exactly
    /// 55 characters; a later version at least 55, with anything after them set off by `-`; version `ff`, upper-
    /// case hex, or an all-zero trace or parent id make the header invalid (nil), and a new context is started.
    init?(_ value: UnsafeRawBufferPointer) {
        guard value.count >= 55 else { return nil }
        func hex(_ start: Int, _ count: Int) -> UInt64? {
            var result: UInt64 = 0
            for i in start..<(start + count) {
                guard let digit = LowerHex.value(ofLowercase: value[i]) else { return nil }
                result = result << 4 | digit
            }
            return result
        }
        let dash = UInt8(ascii: "-")
        guard let version = hex(0, 2), version != 0xFF,
              value[2] == dash, value[35] == dash, value[52] == dash,
              let high = hex(3, 16), let low = hex(19, 16), let parent = hex(36, 16), let flags = hex(53, 2),
              high | low != 0, parent != 0
        else { return nil }
        if version == 0 {
            guard value.count == 55 else { return nil }
        } else if value.count > 55 {
            guard value[55] == dash else { return nil }
        }
        self.init(traceHigh: high, traceLow: low, parentId: parent, flags: UInt8(flags))
    }

    /// `traceparent: 00-…\r\n`, always version 00 (the one this proxy speaks).
    /// One 70-byte piece, written in place: eight appends cost more in their bounds checks than in the digits.
    func writeHeader<Output: HeadOutput>(into out: inout Output) {
        out.append(count: TraceParent.headerLength) { line in
            let prefix: StaticString = "traceparent: 00-"  // 16 bytes
            line.copyMemory(from: UnsafeRawBufferPointer(start: prefix.utf8Start, count: 16))
            LowerHex.fill(traceHigh, into: UnsafeMutableRawBufferPointer(rebasing: line[16..<32]))
            LowerHex.fill(traceLow, into: UnsafeMutableRawBufferPointer(rebasing: line[32..<48]))
            line[48] = UInt8(ascii: "-")
            LowerHex.fill(parentId, into: UnsafeMutableRawBufferPointer(rebasing: line[49..<65]))
            line[65] = UInt8(ascii: "-")
            LowerHex.fill(UInt64(flags), into: UnsafeMutableRawBufferPointer(rebasing: line[66..<68]))
            line[68] = UInt8(ascii: "\r")
            line[69] = UInt8(ascii: "\n")
        }
    }

    static let headerLength = 70

    /// The 32 hex digits of the trace id, for the access log.
    func appendTraceId(to out: inout [UInt8]) {
        out.appendHex(traceHigh)
        out.appendHex(traceLow)
    }
}
