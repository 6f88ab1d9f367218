import NIOCore

extension ByteBuffer {
    /// The next piece of a body delimited by length: up to `remaining` bytes of what is readable, and how many
    /// remain after it. Nil when nothing is readable.
    mutating func readBodySlice(remaining: Int64) -> (slice: ByteBuffer, left: Int64)? {
        let available = readableBytes
        if available == 0 { return nil }
        let take = Int(Swift.min(Int64(available), remaining))
        // A slice never fails here: take <= readableBytes.
        let slice = readSlice(length: take) ?? ByteBuffer()
        return (slice, remaining - Int64(take))
    }
}
