/// One resource record of the ANSWER, AUTHORITY or ADDITIONAL section.
///
/// `type` and `data` are independent on purpose: a test server can send an A record whose RDATA
/// is `.other` bytes of the wrong length to exercise error paths.
public struct ResourceRecord: Sendable, Equatable, Hashable {
    /// Class IN.
    public static let internetClass: UInt16 = 1

    /// Lower-cased presentation form without the trailing dot ("" is the root).
    public var name: String
    public var type: RecordType
    public var rrClass: UInt16
    /// Seconds. When parsed, a TTL with the top bit set reads as 0 (RFC 2181 §8), except for OPT,
    /// whose TTL field carries EDNS flags and is kept as sent.
    public var ttl: UInt32
    public var data: RecordData

    public init(name: String, type: RecordType, rrClass: UInt16 = ResourceRecord.internetClass,
                ttl: UInt32, data: RecordData) {
        self.name = name
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.data = data
    }
}
