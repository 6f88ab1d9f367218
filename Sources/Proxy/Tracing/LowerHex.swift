import NIOCore

/// Lower-case hex of fixed-width integers, written straight into the bytes of a request head or a log line:
/// request ids and trace contexts are rendered per request, so no `String` is made for them.
enum LowerHex {
    private static let digits: StaticString = "0123456789abcdef"

    /// The low `out.count` nibbles of `value`, most significant first, filling `out`. Sixteen digits (ids,
    /// trace ids) are made eight at a time without a table or a branch per digit.
    @inline(__always)
    static func fill(_ value: UInt64, into out: UnsafeMutableRawBufferPointer) {
        let count = out.count
        if count == 16 {
            out.storeBytes(of: eightDigits(UInt32(truncatingIfNeeded: value >> 32)).bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: eightDigits(UInt32(truncatingIfNeeded: value)).bigEndian, toByteOffset: 8, as: UInt64.self)
            return
        }
        let table = digits.utf8Start
        for i in 0..<count {
            out[i] = table[Int(truncatingIfNeeded: (value >> UInt64(4 * (count - 1 - i))) & 0xF)]
        }
    }

    /// The eight hex digits of `half` as ASCII, the first digit in the most significant byte.
    @inline(__always)
    static func eightDigits(_ half: UInt32) -> UInt64 {
        // One nibble per byte, the most significant nibble in the top byte.
        var x = UInt64(half)
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F
        // 1 in each byte whose nibble is 10 or more; those move from after '9' to 'a'.
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
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
