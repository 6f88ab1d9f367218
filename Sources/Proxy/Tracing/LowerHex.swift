import NIOCore

/// Lower-case hex of fixed-width integers, written straight into the bytes of a request head or a log line:
/// request ids and trace contexts are rendered per request, so no `String` is made for them.
enum LowerHex {
    private static let digits: StaticString = "0123456789abcdef"

    /// The low `digits` nibbles of `value`, most significant first.
    @inline(__always)
    static func append(_ value: UInt64, digits count: Int = 16, to out: inout [UInt8]) {
        let table = digits.utf8Start
        for i in 0..<count {
            out.append(table[Int(truncatingIfNeeded: (value >> UInt64(4 * (count - 1 - i))) & 0xF)])
        }
    }

    /// The low `out.count` nibbles of `value`, most significant first, filling `out`.
    @inline(__always)
    static func fill(_ value: UInt64, into out: UnsafeMutableRawBufferPointer) {
        let table = digits.utf8Start
        let count = out.count
        for i in 0..<count {
            out[i] = table[Int(truncatingIfNeeded: (value >> UInt64(4 * (count - 1 - i))) & 0xF)]
        }
    }

    /// The value of one hex digit, lower case only (W3C trace context forbids upper case); nil otherwise.
    @inline(__always)
    static func value(ofLowercase byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte &- UInt8(ascii: "a") &+ 10)
        default: return nil
        }
    }
}
