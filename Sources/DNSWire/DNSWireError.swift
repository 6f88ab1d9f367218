/// Why a DNS message could not be read, and where. Answers come from the network, so every
/// malformed input ends here rather than in a trap; the message names the byte so an operator
/// can match it against a packet capture.
public struct DNSWireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable, Hashable {
        /// The message ends inside a header, name, record or RDATA.
        case truncated
        /// A label length byte uses the reserved types 0x40 or 0x80.
        case badLabelType
        /// A compression pointer points at itself or further ahead.
        case forwardPointer
        /// A compression pointer points back into the name being read, or the name needs too many jumps.
        case pointerLoop
        /// A name is longer than 255 bytes on the wire.
        case nameTooLong
        /// RDATA does not fit its type: an A record that is not 4 bytes, an AAAA that is not 16,
        /// an SRV shorter than 7, or a name inside RDATA that does not end where RDLENGTH says.
        case badRecordLength
    }

    public var code: Code
    /// Byte offset from the start of the message where the problem was found.
    public var offset: Int

    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch code {
        case .truncated: what = "message ends early (cut short or truncated)"
        case .badLabelType: what = "reserved label type"
        case .forwardPointer: what = "compression pointer does not point backwards"
        case .pointerLoop: what = "compression pointer loop"
        case .nameTooLong: what = "name longer than 255 bytes"
        case .badRecordLength: what = "record data length does not match its type"
        }
        return "DNS answer is malformed: \(what) at byte \(offset)"
    }
}
