import NIOCore

/// A client's request header fields as received: offsets into the request head's bytes, so parsing a
/// request creates no strings and relaying a field copies its line as it came.
public struct RequestHeaders: Sendable {
    /// One field line: the name, the value without surrounding whitespace, and the whole line with its CRLF.
    struct Field: Sendable {
        var nameStart: Int32
        var nameEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
        var lineEnd: Int32

        var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
        var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
        /// From the name to after the line's LF.
        var line: Range<Int> { Int(nameStart)..<Int(lineEnd) }
    }

    /// The request head, readable bytes only (request line to the empty line).
    let bytes: ByteBuffer
    var fields: [Field]

    init(bytes: ByteBuffer, fields: [Field]) {
        self.bytes = bytes
        self.fields = fields
    }

    public var count: Int { fields.count }

    /// The first value of the named field (ASCII case-insensitive), or nil.
    public func first(name: String) -> String? {
        for field in fields where nameMatches(field, name) {
            return string(field.value)
        }
        return nil
    }

    /// Every value of the named field, in order.
    public func values(name: String) -> [String] {
        var found: [String] = []
        for field in fields where nameMatches(field, name) {
            found.append(string(field.value))
        }
        return found
    }

    /// Every field as strings, in order (for logs and tests; the proxy itself works on the bytes).
    public var pairs: [(name: String, value: String)] {
        fields.map { (string($0.name), string($0.value)) }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeReadableBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Calls `body` with the bytes of `range`.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeReadableBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    private func nameMatches(_ field: Field, _ name: String) -> Bool {
        guard field.name.count == name.utf8.count else { return false }
        return bytes.withUnsafeReadableBytes { bytes in
            var offset = field.name.lowerBound
            for byte in name.utf8 {
                if Self.lowercased(bytes[offset]) != Self.lowercased(byte) { return false }
                offset += 1
            }
            return true
        }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
