/// A DNS message (RFC 1035 §4), read from untrusted bytes or built for sending.
///
/// Reading never traps or loops on any input: it returns or throws `DNSWireError`. Bytes after the
/// last record the header counts announce are ignored, as most resolvers do. Encoding writes names
/// uncompressed and always produces a well-formed message.
public struct DNSMessage: Sendable, Equatable, Hashable {
    public var id: UInt16
    public var isResponse: Bool
    /// 4 bits; 0 is QUERY.
    public var opcode: UInt8
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var authenticData: Bool
    public var checkingDisabled: Bool
    /// The 4 header bits.
    public var rcode: ResponseCode
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authority: [ResourceRecord]
    public var additional: [ResourceRecord]

    public init(id: UInt16 = 0, isResponse: Bool = false, opcode: UInt8 = 0, authoritative: Bool = false,
                truncated: Bool = false, recursionDesired: Bool = false, recursionAvailable: Bool = false,
                authenticData: Bool = false, checkingDisabled: Bool = false, rcode: ResponseCode = .noError,
                questions: [Question] = [], answers: [ResourceRecord] = [], authority: [ResourceRecord] = [],
                additional: [ResourceRecord] = []) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
    }

    /// Reads a message as received from a server (for TCP, without the 2-byte length prefix).
    public init(parsing bytes: some Collection<UInt8>) throws(DNSWireError) {
        var reader = WireReader(Array(bytes))
        id = try reader.u16()
        let flags = try reader.u16()
        isResponse = flags & 0x8000 != 0
        opcode = UInt8(flags >> 11 & 0x0F)
        authoritative = flags & 0x0400 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        authenticData = flags & 0x0020 != 0
        checkingDisabled = flags & 0x0010 != 0
        rcode = ResponseCode(rawValue: flags & 0x000F)
        let questionCount = try reader.u16()
        let answerCount = try reader.u16()
        let authorityCount = try reader.u16()
        let additionalCount = try reader.u16()
        var questions: [Question] = []
        for _ in 0..<questionCount {
            questions.append(try reader.question())
        }
        self.questions = questions
        answers = try reader.records(count: answerCount)
        authority = try reader.records(count: authorityCount)
        additional = try reader.records(count: additionalCount)
    }

    /// A standard query for one name, class IN.
    public static func query(id: UInt16, name: String, type: RecordType, recursionDesired: Bool = true) -> DNSMessage {
        DNSMessage(id: id, recursionDesired: recursionDesired, questions: [Question(name: name, type: type)])
    }

    /// A response echoing this query's id, opcode, RD bit and questions; what a test server sends back.
    public func response(rcode: ResponseCode = .noError, authoritative: Bool = true,
                         answers: [ResourceRecord] = [], authority: [ResourceRecord] = [],
                         additional: [ResourceRecord] = []) -> DNSMessage {
        DNSMessage(id: id, isResponse: true, opcode: opcode, authoritative: authoritative,
                   recursionDesired: recursionDesired, rcode: rcode, questions: questions,
                   answers: answers, authority: authority, additional: additional)
    }

    /// Wire bytes, names uncompressed. Sections longer than 65535 entries are cut to fit the counts.
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.u16(id)
        var flags = UInt16(opcode & 0x0F) << 11 | rcode.rawValue & 0x000F
        if isResponse { flags |= 0x8000 }
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        if authenticData { flags |= 0x0020 }
        if checkingDisabled { flags |= 0x0010 }
        writer.u16(flags)
        let limit = Int(UInt16.max)
        for count in [questions.count, answers.count, authority.count, additional.count] {
            writer.u16(UInt16(min(count, limit)))
        }
        for question in questions.prefix(limit) {
            writer.question(question)
        }
        for section in [answers, authority, additional] {
            for record in section.prefix(limit) {
                writer.record(record)
            }
        }
        return writer.bytes
    }
}
