import NIOCore

/// A generated request id: a random per-event-loop prefix and a counter, rendered as 32 hex digits.
/// Unique without coordination between loops and costs no allocation to send upstream.
struct RequestId: Equatable, Sendable {
    var prefix: UInt64
    var counter: UInt64

    /// The 32 hex digits: sent upstream, and appended to an access-log line.
    func write<Output: HeadOutput>(into out: inout Output) {
        out.appendHex(prefix)
        out.appendHex(counter)
    }

    var text: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
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
