/// Domain names in the form this module hands out: ASCII lower case, no trailing dot, "" for the
/// root, and label bytes that are not printable ASCII written as `\DDD` (decimal), with `.` and `\`
/// inside a label written as `\.` and `\\`, so no label byte can pose as a separator.
public enum DNSName {
    /// Longest name on the wire, length bytes and the root byte included (RFC 1035 §3.1).
    public static let maxWireLength = 255
    /// Longest label (RFC 1035 §2.3.4).
    public static let maxLabelLength = 63
    /// More jumps than a 255-byte name has labels; only reachable by a hostile message.
    static let maxPointerJumps = 128

    /// The form names take in parsed messages, so a name typed by a person ("API.Example.",
    /// "caf\195\169.test" or "café.test") compares with `==` against parsed names.
    public static func normalized(_ name: String) -> String {
        var text: [UInt8] = []
        for label in wireLabels(of: name) {
            if !text.isEmpty { text.append(UInt8(ascii: ".")) }
            appendEscaped(label[...], to: &text)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Reads a possibly compressed name starting at `start`.
    ///
    /// Every pointer must point before the start of the run of labels it ends, so the offsets
    /// visited strictly decrease and reading always terminates; the jump bound is a second guard.
    /// - Returns: the name and the offset just past it in the original (uncompressed) stream.
    static func read(from bytes: [UInt8], at start: Int) throws(DNSWireError) -> (name: String, end: Int) {
        var text: [UInt8] = []
        var pos = start
        var runStart = start
        var end: Int?
        var jumps = 0
        var wireLength = 0
        while true {
            guard pos < bytes.count else { throw DNSWireError(.truncated, at: pos) }
            let length = Int(bytes[pos])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    return (String(decoding: text, as: UTF8.self), end ?? pos + 1)
                }
                wireLength += 1 + length
                guard wireLength + 1 <= maxWireLength else { throw DNSWireError(.nameTooLong, at: pos) }
                guard pos + 1 + length <= bytes.count else { throw DNSWireError(.truncated, at: pos) }
                if !text.isEmpty { text.append(UInt8(ascii: ".")) }
                appendEscaped(bytes[(pos + 1)..<(pos + 1 + length)], to: &text)
                pos += 1 + length
            case 0xC0:
                guard pos + 1 < bytes.count else { throw DNSWireError(.truncated, at: pos) }
                let target = (length & 0x3F) << 8 | Int(bytes[pos + 1])
                if end == nil { end = pos + 2 }
                guard target < pos else { throw DNSWireError(.forwardPointer, at: pos) }
                guard target < runStart else { throw DNSWireError(.pointerLoop, at: pos) }
                jumps += 1
                guard jumps <= maxPointerJumps else { throw DNSWireError(.pointerLoop, at: pos) }
                pos = target
                runStart = target
            default:
                throw DNSWireError(.badLabelType, at: pos)
            }
        }
    }

    private static func appendEscaped(_ label: ArraySlice<UInt8>, to text: inout [UInt8]) {
        for byte in label {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                text.append(byte + 32)
            case UInt8(ascii: "."), UInt8(ascii: "\\"):
                text.append(UInt8(ascii: "\\"))
                text.append(byte)
            case 0x21...0x7E:
                text.append(byte)
            default:
                text.append(UInt8(ascii: "\\"))
                text.append(UInt8(ascii: "0") + byte / 100)
                text.append(UInt8(ascii: "0") + byte / 10 % 10)
                text.append(UInt8(ascii: "0") + byte % 10)
            }
        }
    }

    /// Wire labels of a presentation-form name, undoing `\DDD` and `\X` escapes. Never fails, so
    /// encoding never fails: empty labels are skipped, a label is cut at 63 bytes and labels that
    /// would take the name past 255 bytes are dropped. Names produced by parsing are never altered.
    static func wireLabels(of name: String) -> [[UInt8]] {
        let bytes = Array(name.utf8)
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var wireLength = 1
        func finish() {
            guard !label.isEmpty else { return }
            let cut = Array(label.prefix(maxLabelLength))
            if wireLength + 1 + cut.count <= maxWireLength {
                labels.append(cut)
                wireLength += 1 + cut.count
            }
            label = []
        }
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\\"), i + 1 < bytes.count {
                if i + 3 < bytes.count, let value = decimal(bytes[(i + 1)...(i + 3)]), value <= 255 {
                    label.append(UInt8(value))
                    i += 4
                } else {
                    label.append(bytes[i + 1])
                    i += 2
                }
            } else if byte == UInt8(ascii: ".") {
                finish()
                i += 1
            } else {
                label.append(byte)
                i += 1
            }
        }
        finish()
        return labels
    }

    /// Value of exactly three ASCII digits.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for d in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) else { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return value
    }
}
