/// A response for a fake server to send: header fields, the echoed question and three record
/// sections. Every field is settable so that tests can produce answers BIND never would
/// (wrong ID, wrong question, TC with no TCP behind it, counts that lie).
public struct FakeDNSResponse: Sendable, Equatable {
    public var id: UInt16
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    /// 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.
    public var rcode: UInt8
    /// Raw question section (name, type, class); `[]` sends none.
    public var question: [UInt8]
    public var answers: [FakeDNSRecord]
    public var authority: [FakeDNSRecord]
    public var additional: [FakeDNSRecord]
    /// Overrides the four section counts (QD, AN, NS, AR) in the header.
    public var countsOverride: (UInt16, UInt16, UInt16, UInt16)?

    public static let noError: UInt8 = 0
    public static let serverFailure: UInt8 = 2
    public static let nameError: UInt8 = 3
    public static let refused: UInt8 = 5

    /// A response to `query` echoing its ID, RD flag and question.
    public init(answering query: FakeDNSQuery, rcode: UInt8 = 0, answers: [FakeDNSRecord] = [],
                authority: [FakeDNSRecord] = [], additional: [FakeDNSRecord] = []) {
        id = query.id
        authoritative = true
        truncated = false
        recursionDesired = query.recursionDesired
        recursionAvailable = false
        self.rcode = rcode
        question = query.questionBytes
        self.answers = answers
        self.authority = authority
        self.additional = additional
        countsOverride = nil
    }

    public func encoded() -> [UInt8] {
        var flags: UInt16 = 0x8000 // QR
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(rcode & 0x0F)
        let counts = countsOverride ?? (
            question.isEmpty ? 0 : 1,
            UInt16(truncatingIfNeeded: answers.count),
            UInt16(truncatingIfNeeded: authority.count),
            UInt16(truncatingIfNeeded: additional.count)
        )
        var bytes = FakeDNSRecord.be16(id) + FakeDNSRecord.be16(flags)
        bytes += FakeDNSRecord.be16(counts.0) + FakeDNSRecord.be16(counts.1)
        bytes += FakeDNSRecord.be16(counts.2) + FakeDNSRecord.be16(counts.3)
        bytes += question
        for record in answers + authority + additional {
            bytes += record.encoded()
        }
        return bytes
    }

    public static func == (lhs: FakeDNSResponse, rhs: FakeDNSResponse) -> Bool {
        lhs.encoded() == rhs.encoded()
    }
}
