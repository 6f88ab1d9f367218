import Balancer
import DNSWire
@testable import Discovery
import Testing

/// Pure pieces of discovery: server lists, hosts files, merging of per-family answers, SRV carry-over.
@Suite("Discovery parsing and merging")
struct ConfigurationParsingTests {
    @Test("name servers parse from host:port text", arguments: [
        ("127.0.0.1", "127.0.0.1:53"), ("127.0.0.1:5353", "127.0.0.1:5353"),
        ("::1", "[::1]:53"), ("[::1]:5300", "[::1]:5300"), (" 10.0.0.1:53 ", "10.0.0.1:53"),
    ])
    func nameServers(input: String, expected: String) throws {
        #expect(try NameServer(parsing: input).description == expected)
    }

    @Test("bad name servers are rejected with a message naming the input", arguments: [
        "localhost", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "1.2.3.4:x", "",
    ])
    func badNameServers(input: String) {
        let error = #expect(throws: DiscoveryError.self) { try NameServer(parsing: input) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("\"\(input)\"") == true)
    }

    @Test("hosts files: comments, aliases, families, case")
    func hostsFile() {
        let hosts = HostsFile(parsing: """
            # comment
            127.0.0.1 localhost
            10.0.0.5  API.internal api   # trailing comment
            ::1       api.internal
            not-an-ip bogus
            """)
        #expect(hosts.addresses(of: "api.internal.", v6: false) == [IPAddress("10.0.0.5")!])
        #expect(hosts.addresses(of: "API", v6: false) == [IPAddress("10.0.0.5")!])
        #expect(hosts.addresses(of: "api.internal", v6: true) == [IPAddress("::1")!])
        #expect(hosts.addresses(of: "localhost", v6: true) == nil, "no AAAA: fall through to DNS")
        #expect(hosts.addresses(of: "bogus", v6: false) == nil)
    }

    @Test("per-family outcomes merge: failure wins, then data, then NXDOMAIN over NODATA")
    func mergeFamilies() throws {
        let v4 = AddressLookup(addresses: [IPAddress("10.0.0.1")!], ttl: 30, canonicalName: "x", source: .dns)
        let v6 = AddressLookup(addresses: [IPAddress("::2")!], ttl: 10, canonicalName: "x", source: .dns)
        let merged = try DNSResolver.merge([.success(v4), .success(v6)], name: "x")
        #expect(merged.addresses == [IPAddress("10.0.0.1")!, IPAddress("::2")!])
        #expect(merged.ttl == 10)
        let partial = try DNSResolver.merge([.success(v4), .failure(DiscoveryError(.nodata, "none", negativeTTL: 5))], name: "x")
        #expect(partial.addresses == v4.addresses)
        let failed = #expect(throws: DiscoveryError.self) {
            try DNSResolver.merge([.success(v4), .failure(DiscoveryError(.timeout, "slow"))], name: "x")
        }
        #expect(failed?.code == .timeout)
        let negative = #expect(throws: DiscoveryError.self) {
            try DNSResolver.merge([.failure(DiscoveryError(.nodata, "a", negativeTTL: 9)),
                                   .failure(DiscoveryError(.nxdomain, "b", negativeTTL: 4))], name: "x")
        }
        #expect(negative?.code == .nxdomain)
        #expect(negative?.negativeTTL == 4)
    }

    @Test("an SRV target whose lookup failed keeps its previous addresses")
    func serviceCarryOver() {
        let previous = NameSnapshot.Content.services([
            ServiceRecord(priority: 10, weight: 5, port: 80, target: "a.test", addresses: [IPAddress("10.0.0.1")!]),
        ])
        let lookup = ServiceLookup(entries: [
            ServiceLookupEntry(priority: 10, weight: 5, port: 80, target: "a.test", ttl: 5, addresses: [], addressTTL: nil,
                               fromGlue: false, addressError: DiscoveryError(.timeout, "slow")),
            ServiceLookupEntry(priority: 10, weight: 5, port: 81, target: "b.test", ttl: 5, addresses: [], addressTTL: nil,
                               fromGlue: false, addressError: DiscoveryError(.timeout, "slow")),
        ], ttl: 5, canonicalName: "_s._tcp.test")
        let records = DNSWatcher.serviceRecords(lookup, previous: previous)
        #expect(records.map(\.addresses) == [[IPAddress("10.0.0.1")!], []])
    }

    @Test("SRV names are recognised by their leading underscore")
    func kindInference() {
        #expect(DNSWatcher.Kind.infer(from: "_http._tcp.api.test") == .service)
        #expect(DNSWatcher.Kind.infer(from: "api.test") == .addresses)
    }

    @Test("valid DNS names", arguments: [("a.test", true), ("a.test.", true), ("", false), ("a..b", false),
                                         (String(repeating: "a", count: 64) + ".test", false), ("a b.test", false)])
    func names(name: String, valid: Bool) {
        #expect(DNSResolver.isValidName(name) == valid)
    }
}
