import Testing
import DNSWire

@Suite struct AnswerExtractionTests {
    private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test func addressesAreSortedWithMinimumTTL() throws {
        let answer = try DNSMessage(parsing: Fixtures.twoA).addressAnswer(for: "API.Test.", type: .a)
        #expect(answer.addresses == [ip("10.0.0.1"), ip("10.0.0.2")])
        #expect(answer.ttl == 30)
        #expect(answer.canonicalName == "api.test")
    }

    @Test func askingForTheOtherFamilyGivesNothing() throws {
        let answer = try DNSMessage(parsing: Fixtures.twoA).addressAnswer(for: "api.test", type: .aaaa)
        #expect(answer.addresses.isEmpty)
        #expect(answer.ttl == nil)
    }

    @Test func aaaaAnswer() throws {
        let answer = try DNSMessage(parsing: Fixtures.aaaa).addressAnswer(for: "v6.test", type: .aaaa)
        #expect(answer.addresses == [ip("2001:db8::1")])
        #expect(answer.ttl == 300)
    }

    @Test func cnameChainTakesTheMinimumTTL() throws {
        let answer = try DNSMessage(parsing: Fixtures.cnameChain).addressAnswer(for: "alias.test", type: .a)
        #expect(answer.addresses == [ip("127.0.0.11")])
        #expect(answer.ttl == 17)
        #expect(answer.canonicalName == "backend1.test")
        // Asking for the target directly skips the CNAME and its shorter TTL.
        #expect(try DNSMessage(parsing: Fixtures.cnameChain).addressAnswer(for: "backend1.test", type: .a).ttl == 42)
    }

    @Test func cnameLoopEndsWithoutAddresses() {
        let message = DNSMessage(answers: [
            ResourceRecord(name: "a.test", type: .cname, ttl: 5, data: .cname("b.test")),
            ResourceRecord(name: "b.test", type: .cname, ttl: 5, data: .cname("a.test")),
        ])
        let answer = message.addressAnswer(for: "a.test", type: .a)
        #expect(answer.addresses.isEmpty && answer.ttl == nil)
        #expect(answer.canonicalName == "b.test")
    }

    @Test func overlongCNAMEChainIsNotFollowedToTheEnd() {
        let hops = DNSMessage.maxCNAMEChain + 1
        let chain = (0..<hops).map { ResourceRecord(name: "n\($0).test", type: .cname, ttl: 9, data: .cname("n\($0 + 1).test")) }
        let message = DNSMessage(answers: chain + [ResourceRecord(name: "n\(hops).test", type: .a, ttl: 9, data: .a(ip("10.1.1.1")))])
        #expect(message.addressAnswer(for: "n0.test", type: .a).addresses.isEmpty)
        #expect(message.addressAnswer(for: "n1.test", type: .a).addresses == [ip("10.1.1.1")])
    }

    @Test func outOfBailiwickRecordsAreIgnored() {
        let message = DNSMessage(answers: [
            ResourceRecord(name: "evil.example", type: .a, ttl: 1, data: .a(ip("6.6.6.6"))),
            ResourceRecord(name: "api.test", type: .a, ttl: 60, data: .a(ip("10.0.0.1"))),
            ResourceRecord(name: "api.test", type: .a, rrClass: 3, ttl: 60, data: .other([6, 6, 6, 6])),
            ResourceRecord(name: "other.test", type: .cname, ttl: 1, data: .cname("api.test")),
        ], additional: [ResourceRecord(name: "api.test", type: .a, ttl: 1, data: .a(ip("6.6.6.7")))])
        let answer = message.addressAnswer(for: "api.test", type: .a)
        #expect(answer.addresses == [ip("10.0.0.1")])
        #expect(answer.ttl == 60)
    }

    @Test func duplicateAddressesCollapse() {
        let record = ResourceRecord(name: "d.test", type: .a, ttl: 10, data: .a(ip("10.0.0.9")))
        var shorter = record
        shorter.ttl = 4
        let answer = DNSMessage(answers: [record, shorter]).addressAnswer(for: "d.test", type: .a)
        #expect(answer.addresses == [ip("10.0.0.9")])
        #expect(answer.ttl == 4)
    }

    @Test func serviceAnswerCarriesPerRecordTTLsAndGlue() throws {
        let answer = try DNSMessage(parsing: Fixtures.srvWithGlue).serviceAnswer(for: "_HTTP._tcp.api.test")
        #expect(answer.entries == [
            SRVEntry(priority: 10, weight: 5, port: 9001, target: "backend1.test", ttl: 30),
            SRVEntry(priority: 10, weight: 5, port: 9002, target: "backend2.test", ttl: 20),
        ])
        #expect(answer.ttl == 20)
        #expect(!answer.serviceUnavailable)
        #expect(answer.glue == [
            "backend1.test": GlueAddresses(addresses: [ip("127.0.0.11"), ip("::1")], ttl: 45),
            "backend2.test": GlueAddresses(addresses: [ip("127.0.0.12")], ttl: 60),
        ])
    }

    @Test func serviceBehindCNAME() {
        let message = DNSMessage(answers: [
            ResourceRecord(name: "_x._tcp.alias.test", type: .cname, ttl: 7, data: .cname("_x._tcp.real.test")),
            ResourceRecord(name: "_x._tcp.real.test", type: .srv, ttl: 100,
                           data: .srv(SRVData(priority: 2, weight: 1, port: 80, target: "b.test"))),
            ResourceRecord(name: "_x._tcp.real.test", type: .srv, ttl: 100,
                           data: .srv(SRVData(priority: 1, weight: 1, port: 80, target: "z.test"))),
            ResourceRecord(name: "b.test", type: .a, ttl: 50, data: .a(ip("10.0.0.5"))),
        ])
        let answer = message.serviceAnswer(for: "_x._tcp.alias.test")
        #expect(answer.entries.map(\.target) == ["z.test", "b.test"])
        #expect(answer.ttl == 7)
        #expect(answer.canonicalName == "_x._tcp.real.test")
        #expect(answer.glue == ["b.test": GlueAddresses(addresses: [ip("10.0.0.5")], ttl: 50)])
    }

    @Test func rootTargetMeansServiceUnavailable() {
        let message = DNSMessage(answers: [
            ResourceRecord(name: "_x._tcp.test", type: .srv, ttl: 90,
                           data: .srv(SRVData(priority: 0, weight: 0, port: 0, target: ""))),
        ])
        let answer = message.serviceAnswer(for: "_x._tcp.test")
        #expect(answer.entries.isEmpty)
        #expect(answer.serviceUnavailable)
        #expect(answer.ttl == 90)
    }

    @Test func noSRVRecordsMeansNoTTL() throws {
        let answer = try DNSMessage(parsing: Fixtures.twoA).serviceAnswer(for: "api.test")
        #expect(answer.entries.isEmpty && answer.ttl == nil && !answer.serviceUnavailable && answer.glue.isEmpty)
    }

    @Test func nxdomainNegativeTTLIsMinimumOfSOATTLAndMinimum() throws {
        let message = try DNSMessage(parsing: Fixtures.nxdomain.encoded())
        #expect(message.rcode == .nxDomain)
        #expect(message.negativeTTL == 30)
        var longMinimum = Fixtures.nxdomain
        longMinimum.authority[0].ttl = 10
        #expect(longMinimum.negativeTTL == 10)
        #expect(message.addressAnswer(for: "gone.test", type: .a).ttl == nil)
    }

    @Test func negativeTTLAbsentWithoutSOA() throws {
        #expect(try DNSMessage(parsing: Fixtures.twoA).negativeTTL == nil)
        #expect(DNSMessage(rcode: .nxDomain).negativeTTL == nil)
    }

    @Test func soaMinimumWithTopBitCountsAsZero() {
        var message = Fixtures.nxdomain
        guard case .soa(var soa) = message.authority[0].data else {
            Issue.record("fixture has no SOA")
            return
        }
        soa.minimum = 0x8000_0010
        message.authority[0].data = .soa(soa)
        #expect(message.negativeTTL == 0)
    }
}
