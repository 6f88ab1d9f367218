/// A DNS NOTIFY request (RFC 1996): a zone's primary saying "this zone changed", read from untrusted bytes.
///
/// Reading never traps: it returns or throws `NotifyParseError`, which carries whatever of the header was
/// readable so a refusal can still echo the ID. A TSIG record, when present, must be the last record
/// (RFC 8945 §5.1); the bytes its MAC covers are kept in `signedMessage`.
public struct NotifyMessage: Sendable, Equatable {
    /// The DNS opcode of NOTIFY.
    public static let opcode: UInt8 = 4

    public var id: UInt16
    /// The question: the changed zone, type SOA, class IN.
    public var question: Question
    /// SOA serial from the ANSWER section, when the primary sent one (RFC 1996 §3.7 calls it a hint).
    public var serial: UInt32?
    public var tsig: TSIGRecord?
    /// With a TSIG record: the message as it was signed (without the record, ARCOUNT one lower, the ID set
    /// back to the TSIG's original ID). Nil when unsigned.
    public var signedMessage: [UInt8]?

    /// The zone, lower case, without the trailing dot.
    public var zone: String { question.name }

    /// Reads a NOTIFY request as received over UDP.
    public init(parsing input: some Collection<UInt8>) throws(NotifyParseError) {
        let bytes = Array(input)
        guard bytes.count >= 12 else {
            throw NotifyParseError(.malformed(DNSWireError(.truncated, at: bytes.count)))
        }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let opcode = bytes[2] >> 3 & 0x0F
        guard bytes[2] & 0x80 == 0 else { throw NotifyParseError(.response, id: id, opcode: opcode) }
        guard opcode == NotifyMessage.opcode else { throw NotifyParseError(.notNotify, id: id, opcode: opcode) }
        let sections: Sections
        do {
            sections = try NotifyMessage.sections(bytes)
        } catch {
            throw NotifyParseError(.malformed(error), id: id, opcode: opcode)
        }
        guard sections.questions.count == 1, let asked = sections.questions.first else {
            throw NotifyParseError(.badQuestion("\(sections.questions.count) questions, not 1"), id: id, opcode: opcode)
        }
        guard asked.type == .soa, asked.rrClass == ResourceRecord.internetClass else {
            throw NotifyParseError(.badQuestion("a \(asked.type) question, not SOA IN"), id: id, opcode: opcode,
                                   question: asked)
        }
        self.id = id
        question = asked
        serial = sections.answers.lazy.compactMap { record -> UInt32? in
            if case .soa(let soa) = record.data, record.name == asked.name { return soa.serial }
            return nil
        }.first
        let tsigs = sections.additional.indices.filter { sections.additional[$0].record.type == .tsig }
        guard let index = tsigs.first else { return }
        guard tsigs.count == 1, index == sections.additional.count - 1 else {
            throw NotifyParseError(.tsigNotLast, id: id, opcode: opcode, question: asked)
        }
        let (start, last) = sections.additional[index]
        guard last.rrClass == TSIGRecord.anyClass, case .other(let rdata) = last.data else {
            throw NotifyParseError(.malformed(DNSWireError(.badRecordLength, at: start)), id: id, opcode: opcode,
                                   question: asked)
        }
        let record: TSIGRecord
        do {
            record = try TSIGRecord(keyName: last.name, rdata: rdata)
        } catch {
            throw NotifyParseError(.malformed(DNSWireError(error.code, at: start)), id: id, opcode: opcode,
                                   question: asked)
        }
        var signed = Array(bytes[..<start])
        signed[0] = UInt8(record.originalID >> 8)
        signed[1] = UInt8(truncatingIfNeeded: record.originalID)
        let count = UInt16(sections.additional.count - 1)
        signed[10] = UInt8(count >> 8)
        signed[11] = UInt8(truncatingIfNeeded: count)
        tsig = record
        signedMessage = signed
    }

    private struct Sections {
        var questions: [Question] = []
        var answers: [ResourceRecord] = []
        /// Each ADDITIONAL record with the offset where it starts.
        var additional: [(start: Int, record: ResourceRecord)] = []
    }

    private static func sections(_ bytes: [UInt8]) throws(DNSWireError) -> Sections {
        var reader = WireReader(bytes)
        var sections = Sections()
        _ = try reader.u16()
        _ = try reader.u16()
        let questionCount = try reader.u16()
        let answerCount = try reader.u16()
        let authorityCount = try reader.u16()
        let additionalCount = try reader.u16()
        for _ in 0..<questionCount {
            sections.questions.append(try reader.question())
        }
        sections.answers = try reader.records(count: answerCount)
        _ = try reader.records(count: authorityCount)
        for _ in 0..<additionalCount {
            let start = reader.offset
            sections.additional.append((start, try reader.record()))
        }
        return sections
    }

    /// The answer RFC 1996 §4.7 asks for, unsigned: same ID and question, QR and AA set, opcode NOTIFY.
    public func response(rcode: ResponseCode = .noError) -> [UInt8] {
        NotifyMessage.response(id: id, opcode: NotifyMessage.opcode, question: question, rcode: rcode)
    }

    /// A response header echoing `id`, `opcode` and `question` (when one was read), with `rcode`.
    public static func response(id: UInt16, opcode: UInt8, question: Question?, rcode: ResponseCode) -> [UInt8] {
        DNSMessage(id: id, isResponse: true, opcode: opcode, authoritative: rcode == .noError, rcode: rcode,
                   questions: question.map { [$0] } ?? []).encoded()
    }
}

/// Why bytes are not a NOTIFY this node can act on, with what of the header was read (for the answer).
public struct NotifyParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The bytes are not a well-formed DNS message.
        case malformed(DNSWireError)
        /// The QR bit is set: a response, never answered (that could loop between two servers).
        case response
        /// Another opcode than NOTIFY.
        case notNotify
        /// Not exactly one question of type SOA, class IN.
        case badQuestion(String)
        /// A TSIG record that is not the last record of the message.
        case tsigNotLast
    }

    public var code: Code
    /// The header's ID, when the header was complete.
    public var id: UInt16?
    public var opcode: UInt8?
    public var question: Question?

    public init(_ code: Code, id: UInt16? = nil, opcode: UInt8? = nil, question: Question? = nil) {
        self.code = code
        self.id = id
        self.opcode = opcode
        self.question = question
    }

    public var description: String {
        switch code {
        case .malformed(let error): "malformed NOTIFY: \(error)"
        case .response: "a DNS response, not a request"
        case .notNotify: "opcode \(opcode.map(String.init) ?? "?") is not NOTIFY (4)"
        case .badQuestion(let what): "NOTIFY with \(what)"
        case .tsigNotLast: "TSIG record is not the last record"
        }
    }
}
