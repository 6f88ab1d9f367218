import NIOCore

/// A generated request id: a random per-event-loop prefix and a counter, rendered as 32 hex digits.
/// Unique without coordination between loops and costs no allocation to send upstream.
struct RequestId: Equatable, Sendable {
    var prefix: UInt64
    var counter: UInt64

    func write(into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 32) { out in
            RequestId.hex(prefix, into: out, at: 0)
            RequestId.hex(counter, into: out, at: 16)
            return 32
        }
    }

    var text: String {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return String(buffer: buffer)
    }

    /// The 32 hex digits, appended to an access-log line.
    func write(into out: inout [UInt8]) {
        let table = Self.digits.utf8Start
        for value in [prefix, counter] {
            for i in 0..<16 {
                out.append(table[Int(truncatingIfNeeded: (value >> UInt64(60 - 4 * i)) & 0xF)])
            }
        }
    }

    private static let digits: StaticString = "0123456789abcdef"

    private static func hex(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at offset: Int) {
        let table = digits.utf8Start
        for i in 0..<16 {
            out[offset + i] = table[Int(truncatingIfNeeded: (value >> UInt64(60 - 4 * i)) & 0xF)]
        }
    }
}

/// Hands out request ids on one event loop.
struct RequestIdGenerator {
    private let prefix: UInt64
    private var counter: UInt64 = 0

    init<G: RandomNumberGenerator>(using generator: inout G) {
        self.prefix = generator.next()
    }

    mutating func next() -> RequestId {
        counter &+= 1
        return RequestId(prefix: prefix, counter: counter)
    }
}
