import Testing
import DNSWire

@Suite struct RoundTripTests {
    @Test func queryEncodesToExpectedBytes() {
        let bytes = DNSMessage.query(id: 0x1234, name: "API.test.", type: .srv).encoded()
        #expect(bytes == [
            0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x41, 0x50, 0x49, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x21, 0x00, 0x01,
        ])
    }

    @Test func everyRecordKindRoundTrips() throws {
        let message = DNSMessage(
            id: 0xFFFF, isResponse: true, opcode: 2, authoritative: true, truncated: true, recursionDesired: true,
            recursionAvailable: true, authenticData: true, checkingDisabled: true, rcode: .refused,
            questions: [Question(name: "a.test", type: .any), Question(name: "", type: .ns, rrClass: 3)],
            answers: [
                ResourceRecord(name: "a.test", type: .a, ttl: 1, data: .a(IPAddress("192.0.2.1")!)),
                ResourceRecord(name: "a.test", type: .aaaa, ttl: 2, data: .aaaa(IPAddress("::ffff:192.0.2.1")!)),
                ResourceRecord(name: "b.test", type: .cname, ttl: 3, data: .cname("a.test")),
                ResourceRecord(name: "test", type: .ns, ttl: 4, data: .ns("ns1.test")),
                ResourceRecord(name: "1.2.0.192.in-addr.arpa", type: .ptr, ttl: 5, data: .ptr("a.test")),
                ResourceRecord(name: "test", type: .mx, ttl: 6, data: .mx(preference: 10, exchange: "mail.test")),
                ResourceRecord(name: "test", type: .txt, ttl: 7, data: .other([5, 0x68, 0x65, 0x6C, 0x6C, 0x6F])),
                ResourceRecord(name: "_s._tcp.test", type: .srv, ttl: 8,
                               data: .srv(SRVData(priority: 1, weight: 2, port: 3, target: ""))),
            ],
            authority: [ResourceRecord(name: "test", type: .soa, ttl: 0x7FFF_FFFF, data: .soa(SOAData(
                mname: "ns1.test", rname: #"first\.last.test"#, serial: 1, refresh: 2, retry: 3, expire: 4,
                minimum: 5)))],
            additional: [ResourceRecord(name: "", type: .opt, rrClass: 4096, ttl: 0x0000_8000, data: .other([]))])
        #expect(try DNSMessage(parsing: message.encoded()) == message)
    }

    @Test func fixturesRoundTripThroughUncompressedEncoding() throws {
        for fixture in Fixtures.all {
            let message = try DNSMessage(parsing: fixture)
            let encoded = message.encoded()
            #expect(try DNSMessage(parsing: encoded) == message)
            #expect(encoded.count >= fixture.count)
        }
    }

    @Test func escapedNamesRoundTrip() throws {
        for name in [#"a\.b.test"#, #"\000\255.x"#, #"back\\slash"#, "ä.test"] {
            let message = DNSMessage.query(id: 1, name: name, type: .a)
            let parsed = try DNSMessage(parsing: message.encoded())
            let expected = name == "ä.test" ? #"\195\164.test"# : name
            #expect(parsed.questions.first?.name == expected)
            #expect(try DNSMessage(parsing: parsed.encoded()) == parsed)
        }
    }

    @Test func unencodableNamesStillGiveAWellFormedMessage() throws {
        let long = String(repeating: "a", count: 70) + ".." + String(repeating: "b.", count: 200)
        let parsed = try DNSMessage(parsing: DNSMessage.query(id: 1, name: long, type: .a).encoded())
        let name = try #require(parsed.questions.first?.name)
        #expect(name.hasPrefix(String(repeating: "a", count: 63) + ".b.b"))
        #expect(name.utf8.count <= 253)
    }

    @Test func responseEchoesTheQuery() throws {
        let query = DNSMessage.query(id: 77, name: "x.test", type: .a)
        let response = query.response(rcode: .servFail)
        let parsed = try DNSMessage(parsing: response.encoded())
        #expect(parsed.id == 77 && parsed.isResponse && parsed.recursionDesired && parsed.rcode == .servFail)
        #expect(parsed.questions == query.questions)
    }
}
