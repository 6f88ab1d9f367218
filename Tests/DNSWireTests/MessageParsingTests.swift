import Testing
import DNSWire

@Suite struct MessageParsingTests {
    @Test func parsesHeaderQuestionAndARecords() throws {
        let message = try DNSMessage(parsing: Fixtures.twoA)
        #expect(message.id == 0x1234)
        #expect(message.isResponse && message.recursionDesired && message.recursionAvailable)
        #expect(!message.authoritative && !message.truncated)
        #expect(message.opcode == 0)
        #expect(message.rcode == .noError)
        #expect(message.questions == [Question(name: "api.test", type: .a)])
        #expect(message.answers == [
            ResourceRecord(name: "api.test", type: .a, ttl: 60, data: .a(IPAddress("10.0.0.1")!)),
            ResourceRecord(name: "api.test", type: .a, ttl: 30, data: .a(IPAddress("10.0.0.2")!)),
        ])
        #expect(message.authority.isEmpty && message.additional.isEmpty)
    }

    @Test func parsesAAAA() throws {
        let message = try DNSMessage(parsing: Fixtures.aaaa)
        #expect(message.answers == [
            ResourceRecord(name: "v6.test", type: .aaaa, ttl: 300, data: .aaaa(IPAddress("2001:db8::1")!)),
        ])
    }

    @Test func followsNestedCompressionPointers() throws {
        let message = try DNSMessage(parsing: Fixtures.cnameChain)
        #expect(message.answers.map(\.name) == ["alias.test", "backend1.test"])
        #expect(message.answers[0].data == .cname("backend1.test"))
        #expect(message.answers[0].ttl == 17)
        #expect(message.answers[1].data == .a(IPAddress("127.0.0.11")!))
    }

    @Test func parsesSRVAndAdditional() throws {
        let message = try DNSMessage(parsing: Fixtures.srvWithGlue)
        #expect(message.authoritative)
        #expect(message.answers.map(\.data) == [
            .srv(SRVData(priority: 10, weight: 5, port: 9001, target: "backend1.test")),
            .srv(SRVData(priority: 10, weight: 5, port: 9002, target: "backend2.test")),
        ])
        #expect(message.additional.map(\.name) == ["backend1.test", "backend1.test", "backend2.test", "evil.example"])
    }

    @Test func ttlWithTopBitSetReadsAsZero() throws {
        var bytes = Fixtures.twoA
        bytes.replaceSubrange(Fixtures.twoAFirstTTLOffset..<(Fixtures.twoAFirstTTLOffset + 4), with: [0x80, 0, 0, 0x3C])
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers[0].ttl == 0)
        #expect(message.answers[1].ttl == 30)
        bytes[Fixtures.twoAFirstTTLOffset] = 0x7F
        #expect(try DNSMessage(parsing: bytes).answers[0].ttl == 0x7F00_003C)
    }

    @Test func optTTLKeepsEDNSFlags() throws {
        let opt = ResourceRecord(name: "", type: .opt, rrClass: 1232, ttl: 0x8000_8000, data: .other([]))
        let parsed = try DNSMessage(parsing: DNSMessage(additional: [opt]).encoded())
        #expect(parsed.additional == [opt])
    }

    @Test func lowerCasesAndEscapesNames() throws {
        // Question name: "A.b" (one label with a dot), "\x00 x", "TEST".
        let bytes = Fixtures.header(questions: 1)
            + [3, 0x41, 0x2E, 0x62, 3, 0x00, 0x20, 0x5C, 4, 0x54, 0x45, 0x53, 0x54, 0, 0, 1, 0, 1]
        let message = try DNSMessage(parsing: bytes)
        #expect(message.questions.first?.name == #"a\.b.\000\032\\.test"#)
        #expect(try DNSMessage(parsing: message.encoded()) == message)
    }

    @Test func rootNameIsEmpty() throws {
        let message = try DNSMessage(parsing: Fixtures.header(questions: 1) + [0, 0, 2, 0, 1])
        #expect(message.questions == [Question(name: "", type: .ns)])
    }

    @Test func forwardPointerIsRejected() {
        let bytes = Fixtures.header(questions: 1) + [0xC0, 0x10, 0, 1, 0, 1, 1, 0x61, 0]
        #expect(throws: DNSWireError(.forwardPointer, at: 12)) { try DNSMessage(parsing: bytes) }
    }

    @Test func pointerToItselfIsRejected() {
        let bytes = Fixtures.header(questions: 1) + [0xC0, 0x0C, 0, 1, 0, 1]
        #expect(throws: DNSWireError(.forwardPointer, at: 12)) { try DNSMessage(parsing: bytes) }
    }

    @Test func pointerLoopIsRejected() {
        // "a" then a pointer back to the "a": backwards, but into the name being read.
        let bytes = Fixtures.header(questions: 1) + [1, 0x61, 0xC0, 0x0C, 0, 1, 0, 1]
        let error = DNSWireError(.pointerLoop, at: 14)
        #expect(throws: error) { try DNSMessage(parsing: bytes) }
        #expect(error.description == "DNS answer is malformed: compression pointer loop at byte 14")
    }

    @Test func twoPointerLoopIsRejected() throws {
        // Second question: "b" + pointer to 12, where "a" + pointer to 16 ("b" again) would loop.
        let bytes = Fixtures.header(questions: 2) + [1, 0x61, 0xC0, 0x10, 0, 1, 0, 1, 1, 0x62, 0xC0, 0x0C, 0, 1, 0, 1]
        #expect(throws: DNSWireError(.forwardPointer, at: 14)) { try DNSMessage(parsing: bytes) }
        let viaBack = Fixtures.header(questions: 2) + [1, 0x61, 0, 0, 1, 0, 1, 1, 0x62, 0xC0, 0x0C, 0, 1, 0, 1]
        #expect(try DNSMessage(parsing: viaBack).questions.map(\.name) == ["a", "b.a"])
    }

    @Test func reservedLabelTypesAreRejected() {
        for type: UInt8 in [0x40, 0x80] {
            let bytes = Fixtures.header(questions: 1) + [type | 1, 0x61, 0, 0, 1, 0, 1]
            #expect(throws: DNSWireError(.badLabelType, at: 12)) { try DNSMessage(parsing: bytes) }
        }
    }

    @Test func nameLongerThan255BytesIsRejected() {
        let label: [UInt8] = [63] + Array(repeating: 0x61, count: 63)
        let ok = Fixtures.header(questions: 1) + label + label + label + [61] + Array(repeating: 0x61, count: 61)
            + [0, 0, 1, 0, 1]
        #expect(throws: Never.self) { try DNSMessage(parsing: ok) }
        let long = Fixtures.header(questions: 1) + label + label + label + label + [0, 0, 1, 0, 1]
        #expect(throws: DNSWireError(.nameTooLong, at: 12 + 3 * 64)) { try DNSMessage(parsing: long) }
    }

    @Test(arguments: [(RecordType.a, 5), (.a, 3), (.aaaa, 4), (.aaaa, 17)])
    func addressWithWrongLengthIsMalformed(type: RecordType, length: Int) {
        let record = ResourceRecord(name: "x.test", type: type, ttl: 1, data: .other(Array(repeating: 1, count: length)))
        let bytes = DNSMessage(answers: [record]).encoded()
        // RDLENGTH sits after header (12), name (8), type, class and TTL (8).
        #expect(throws: DNSWireError(.badRecordLength, at: 28)) { try DNSMessage(parsing: bytes) }
    }

    @Test func shortSRVIsMalformed() {
        let record = ResourceRecord(name: "s.test", type: .srv, ttl: 1, data: .other([0, 1, 0, 1, 0, 80]))
        #expect(throws: DNSWireError(.badRecordLength, at: 28)) { try DNSMessage(parsing: DNSMessage(answers: [record]).encoded()) }
    }

    @Test func nameInRDATAMustEndAtRDLENGTH() {
        // CNAME RDATA "a" + root, plus one extra byte counted by RDLENGTH.
        let record = ResourceRecord(name: "c.test", type: .cname, ttl: 1, data: .other([1, 0x61, 0, 0xFF]))
        #expect(throws: DNSWireError(.badRecordLength, at: 28)) { try DNSMessage(parsing: DNSMessage(answers: [record]).encoded()) }
    }

    @Test func otherClassesKeepRawData() throws {
        let record = ResourceRecord(name: "version.bind", type: .a, rrClass: 3, ttl: 0, data: .other([1, 2, 3]))
        let parsed = try DNSMessage(parsing: DNSMessage(answers: [record]).encoded())
        #expect(parsed.answers == [record])
    }

    @Test func trailingBytesAreIgnored() throws {
        let message = try DNSMessage(parsing: Fixtures.twoA + [0xDE, 0xAD])
        #expect(message == (try DNSMessage(parsing: Fixtures.twoA)))
    }

    @Test func parsesFromAnySlice() throws {
        let padded: [UInt8] = [9, 9, 9] + Fixtures.aaaa
        #expect(try DNSMessage(parsing: padded.dropFirst(3)) == (try DNSMessage(parsing: Fixtures.aaaa)))
    }

    @Test func recordTypeAndRcodeText() {
        #expect(RecordType.srv.description == "SRV")
        #expect(RecordType(rawValue: 65).description == "TYPE65")
        #expect(ResponseCode.nxDomain.description == "NXDOMAIN")
        #expect(ResponseCode(rawValue: 9).description == "NOTAUTH")
        #expect(ResponseCode(rawValue: 11).description == "RCODE11")
        #expect(RecordType.tsig.description == "TSIG")
    }
}

@Suite struct PointerChainTests {
    /// A TXT record whose RDATA is a root byte followed by `links` pointers, each to the one before,
    /// and a second record whose owner points at the last of them.
    private func chain(links: Int) -> [UInt8] {
        var rdata: [UInt8] = [0]
        let rdataStart = 12 + 1 + 10
        for i in 0..<links {
            let target = i == 0 ? rdataStart : rdataStart + 1 + 2 * (i - 1)
            rdata += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
        }
        let last = rdataStart + 1 + 2 * (links - 1)
        let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 0, 0, 2, 0, 0, 0, 0]
        let txt: [UInt8] = [0, 0, 16, 0, 1, 0, 0, 0, 0, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        let owner: [UInt8] = [0xC0 | UInt8(last >> 8), UInt8(last & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]
        return header + txt + owner
    }

    @Test func pointerChainWithinTheJumpBoundIsFollowed() throws {
        let message = try DNSMessage(parsing: chain(links: 100))
        #expect(message.answers.last?.name == "")
        #expect(message.answers.last?.data == .a(IPAddress("1.2.3.4")!))
    }

    @Test func pointerChainBeyondTheJumpBoundIsALoop() {
        let bytes = chain(links: 200)
        let error = #expect(throws: DNSWireError.self) { try DNSMessage(parsing: bytes) }
        #expect(error?.code == .pointerLoop)
    }

    @Test func namesTypedByPeopleNormalize() {
        #expect(DNSName.normalized("API.Example.") == "api.example")
        #expect(DNSName.normalized("café.test") == #"caf\195\169.test"#)
        #expect(DNSName.normalized(#"\065\.b."#) == #"a\.b"#)
        #expect(DNSName.normalized(".") == "")
    }
}
