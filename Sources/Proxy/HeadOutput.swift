import NIOCore

/// Where a head of many small pieces is rendered. Each `ByteBuffer` write checks uniqueness, capacity and
/// exclusivity (about 300 instructions on this path), so a request head of twenty pieces cost more in those
/// checks than in copying. `HeadBytes` copies into memory reserved once; `HeadLength` measures.
protocol HeadOutput {
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    /// Appends `count` bytes that `fill` writes in place (it may not be called when only measuring).
    mutating func append(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void)
}

/// A head that can be rendered more than once with the same bytes (measured, then copied).
protocol HeadRendering {
    func render<Output: HeadOutput>(into out: inout Output)
}

extension HeadOutput {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            var native = text
            native.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        }
    }

    @inline(__always)
    mutating func append(_ text: Substring) {
        // `withUTF8` on a copy (a retain): `utf8.withContiguousStorageIfAvailable` on a substring goes through
        // the unspecialized `Slice` implementation, about 130 instructions a call.
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { append($0) }
    }

    /// The low `digits` nibbles of `value` in lower-case hex, most significant first.
    mutating func appendHex(_ value: UInt64, digits: Int = 16) {
        append(count: digits) { out in LowerHex.fill(value, into: out) }
    }

    /// `value` in decimal, without leading zeros.
    mutating func appendDecimal(_ value: Int64) {
        var magnitude = value.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        let negative = value < 0
        append(count: digits + (negative ? 1 : 0)) { out in
            var rest = value.magnitude
            var index = out.count
            repeat {
                index -= 1
                out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while index > (negative ? 1 : 0)
            if negative { out[0] = UInt8(ascii: "-") }
        }
    }
}

/// Counts the bytes a head renders to.
struct HeadLength: HeadOutput {
    private(set) var count = 0

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
    }

    mutating func append(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count += count
    }
}

/// Copies a head into memory it was given. A head that does not fit is not cut: `fits` turns false and
/// nothing more is copied, so the caller measures and renders again into enough memory.
struct HeadBytes: HeadOutput {
    private let memory: UnsafeMutableRawBufferPointer
    private(set) var count = 0
    private(set) var fits = true

    init(_ memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard fits, !bytes.isEmpty else { return }
        guard bytes.count <= memory.count - count, let to = memory.baseAddress, let from = bytes.baseAddress else {
            fits = false
            return
        }
        (to + count).copyMemory(from: from, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(count length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        guard fits, length > 0 else { return }
        guard length <= memory.count - count, let to = memory.baseAddress else {
            fits = false
            return
        }
        fill(UnsafeMutableRawBufferPointer(start: to + count, count: length))
        count += length
    }
}

extension ByteBuffer {
    /// Writes `head` in one piece. `estimate` should cover most heads; one that is larger is measured and
    /// rendered again, never cut.
    mutating func writeHead<Head: HeadRendering>(_ head: Head, estimate: Int) {
        var fitted = false
        writeWithUnsafeMutableBytes(minimumWritableBytes: estimate) { memory in
            var out = HeadBytes(memory)
            head.render(into: &out)
            fitted = out.fits
            return out.fits ? out.count : 0
        }
        if fitted { return }
        var length = HeadLength()
        head.render(into: &length)
        writeWithUnsafeMutableBytes(minimumWritableBytes: length.count) { memory in
            var out = HeadBytes(memory)
            head.render(into: &out)
            precondition(out.fits && out.count == length.count, "a head rendered to different lengths")
            return out.count
        }
    }
}

/// Bytes appended piece by piece: access-log lines, and ids as text.
extension Array: HeadOutput where Element == UInt8 {
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes)
    }

    mutating func append(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let start = self.count
        append(contentsOf: repeatElement(0, count: count))
        self[start...].withUnsafeMutableBytes { fill($0) }
    }
}

/// A buffer written piece by piece, for heads off the request path (tests, one-off answers).
extension ByteBuffer: HeadOutput {
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        writeBytes(bytes)
    }

    mutating func append(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: count) { memory in
            fill(UnsafeMutableRawBufferPointer(rebasing: memory[..<count]))
            return count
        }
    }
}
