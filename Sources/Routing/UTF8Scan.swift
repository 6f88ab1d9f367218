/// Byte searches over a string's UTF-8 through its contiguous storage. Walking `String.UTF8View` by index checks
/// each index and costs about ten instructions a byte; these run on every request's target and path.
enum UTF8Scan {
    /// The offset of the first `byte` in `text`'s UTF-8, or nil.
    @inline(__always)
    static func firstOffset(of byte: UInt8, in text: String) -> Int? {
        var text = text  // a retain; `withUTF8` makes a bridged or lazily stored string native first
        return text.withUTF8 { $0.firstIndex(of: byte) }
    }

    /// The last byte of `text`'s UTF-8, or nil when it is empty.
    @inline(__always)
    static func lastByte(_ text: String) -> UInt8? {
        var text = text
        return text.withUTF8 { $0.last }
    }
}
