import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// The resolver against a real BIND9 from testdns/, over UDP and over TCP only.
@Suite("Resolver against BIND9")
struct ResolverIntegrationTests {
    @Test("A, AAAA and SRV records arrive with the zone's TTLs", arguments: [false, true])
    func recordsWithTTLs(tcpOnly: Bool) async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("web1.svc.test", "A", "127.0.0.21", ttl: 7)
        try await dns.register("web1.svc.test", "AAAA", "::1", ttl: 9)
        try await dns.register("web2.svc.test", "A", "127.0.0.22", ttl: 7)
        try await dns.register("_http._tcp.web.svc.test", "SRV", "10 60 8081 web1.svc.test.", ttl: 4)
        try await dns.register("_http._tcp.web.svc.test", "SRV", "20 40 8082 web2.svc.test.", ttl: 4)
        let resolver = try makeResolver(server: dns.server, tcpOnly: tcpOnly)
        defer { resolver.shutdown() }

        let v4 = try await resolver.resolveAddresses("web1.svc.test", families: .ipv4)
        #expect(v4.addresses == [ip("127.0.0.21")])
        #expect(v4.ttl == 7)
        let both = try await resolver.resolveAddresses("web1.svc.test")
        #expect(both.addresses == [ip("127.0.0.21"), ip("::1")])
        #expect(both.ttl == 7)

        let srv = try await resolver.resolveService("_http._tcp.web.svc.test")
        #expect(srv.ttl == 4)
        #expect(srv.entries.map(\.port) == [8081, 8082])
        #expect(srv.entries.map(\.priority) == [10, 20])
        #expect(srv.entries.map(\.weight) == [60, 40])
        #expect(srv.entries.map(\.ttl) == [4, 4])
        #expect(srv.entries[0].addresses == [ip("127.0.0.21"), ip("::1")])
        #expect(srv.entries[1].addresses == [ip("127.0.0.22")])
        #expect(srv.entries.allSatisfy { $0.addressError == nil })
    }

    @Test("NXDOMAIN and NODATA are told apart, with the SOA negative TTL")
    func negativeAnswers() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("only-a.svc.test", "A", "127.0.0.30", ttl: 5)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }

        let missing = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveAddresses("missing.svc.test", families: .ipv4)
        }
        #expect(missing?.code == .nxdomain)
        #expect(missing?.negativeTTL != nil)
        let noData = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveAddresses("only-a.svc.test", families: .ipv6)
        }
        #expect(noData?.code == .nodata)
        let noSRV = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveService("_http._tcp.only-a.svc.test")
        }
        #expect(noSRV?.code == .nxdomain)
    }

    @Test("a 120-target SRV set arrives whole (truncated over UDP, retried over TCP)")
    func largeSRVOverTCP() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        var lines: [String] = []
        for i in 0..<120 {
            lines.append("update add big\(i).svc.test. 30 IN A 127.0.1.\(i + 1)")
            lines.append("update add _http._tcp.big.svc.test. 30 IN SRV 10 \(i + 1) \(9000 + i) big\(i).svc.test.")
        }
        try await dns.registerBatch(lines: lines)
        let udpView = try await dns.lookup("_http._tcp.big.svc.test", "SRV")
        #expect(udpView.isTruncated, "BIND should truncate a 120-record SRV answer over UDP")

        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let srv = try await resolver.resolveService("_http._tcp.big.svc.test")
        #expect(srv.entries.count == 120)
        #expect(Set(srv.entries.map(\.port)) == Set((0..<120).map { UInt16(9000 + $0) }))
        let byPort = Dictionary(uniqueKeysWithValues: srv.entries.map { ($0.port, $0) })
        for i in 0..<120 {
            let entry = try #require(byPort[UInt16(9000 + i)])
            #expect(entry.weight == UInt16(i + 1))
            #expect(entry.addresses == [ip("127.0.1.\(i + 1)")])
        }
    }

    @Test("many queries in flight at once all complete")
    func concurrentQueries() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.registerBatch(lines: (0..<50).map { "update add host\($0).svc.test. 30 IN A 127.0.2.\($0 + 1)" })
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let results = await withTaskGroup(of: (Int, [IPAddress]?).self) { group in
            for round in 0..<4 {
                for i in 0..<50 {
                    group.addTask {
                        let lookup = try? await resolver.resolveAddresses("host\(i).svc.test", families: .ipv4)
                        return (round * 50 + i, lookup?.addresses)
                    }
                }
            }
            var all: [Int: [IPAddress]?] = [:]
            for await (key, value) in group { all[key] = value }
            return all
        }
        #expect(results.count == 200)
        for (key, addresses) in results {
            #expect(addresses == [ip("127.0.2.\(key % 50 + 1)")])
        }
    }

    @Test("a stopped server is reported, and the resolver works again once it is back")
    func serverDownThenUp() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("up.svc.test", "A", "127.0.0.40", ttl: 5)
        let resolver = try makeResolver(server: dns.server, timeout: .milliseconds(200), tries: 1)
        defer { resolver.shutdown() }
        try await dns.stopServer()
        let error = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveAddresses("up.svc.test", families: .ipv4)
        }
        #expect(error?.code == .connectionRefused || error?.code == .timeout)
        #expect(error?.message.contains(dns.server) == true)
        try await dns.restartServer()
        let lookup = try await resolver.resolveAddresses("up.svc.test", families: .ipv4)
        #expect(lookup.addresses == [ip("127.0.0.40")])
    }

    @Test("search domains and ndots apply as in the system resolver")
    func searchDomains() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("short.svc.test", "A", "127.0.0.44", ttl: 5)
        var configuration = ResolverConfiguration()
        configuration.servers = [try NameServer(parsing: dns.server)]
        configuration.hostsPath = nil
        configuration.searchDomains = ["missing.svc.test", "svc.test"]
        configuration.ndots = 1
        let resolver = try DNSResolver(configuration: configuration)
        defer { resolver.shutdown() }
        let lookup = try await resolver.resolveAddresses("short", families: .ipv4)
        #expect(lookup.addresses == [ip("127.0.0.44")])
        #expect(lookup.canonicalName == "short.svc.test")
        // An absolute name is never searched.
        let absolute = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveAddresses("short.", families: .ipv4)
        }
        #expect(absolute?.code == .nxdomain || absolute?.code == .refused)
    }

    @Test("names in the hosts file are answered without DNS")
    func hostsFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hosts-\(UUID().uuidString)").path
        try "127.0.0.77 pinned.example pinned-alias\n::1 pinned.example\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A server that answers nothing: a hosts-file name must not need it.
        let silent = try FakeDNSServer { _ in [] }
        defer { silent.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(silent.port)", timeout: .milliseconds(100), tries: 1, hostsPath: path)
        defer { resolver.shutdown() }
        let lookup = try await resolver.resolveAddresses("PINNED.example.")
        #expect(lookup.addresses == [ip("127.0.0.77"), ip("::1")])
        #expect(lookup.source == .hostsFile)
        let alias = try await resolver.resolveAddresses("pinned-alias", families: .ipv4)
        #expect(alias.addresses == [ip("127.0.0.77")])
        // An edit takes effect without a restart.
        try "127.0.0.78 pinned.example\n".write(toFile: path, atomically: true, encoding: .utf8)
        let edited = try await resolver.resolveAddresses("pinned.example", families: .ipv4)
        #expect(edited.addresses == [ip("127.0.0.78")])
    }

    @Test("after shutdown, queries fail with a shutdown error instead of hanging")
    func shutdownFailsQueries() async throws {
        let silent = try FakeDNSServer { _ in [] }
        defer { silent.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(silent.port)", timeout: .seconds(5), tries: 1)
        let pending = Task { () async throws(DiscoveryError) -> AddressLookup in
            try await resolver.resolveAddresses("slow.example", families: .ipv4)
        }
        try await Task.sleep(for: .milliseconds(100))
        resolver.shutdown()
        let error = await #expect(throws: DiscoveryError.self) { try await pending.value }
        #expect(error?.code == .shutdown)
        let after = await #expect(throws: DiscoveryError.self) {
            try await resolver.resolveAddresses("later.example", families: .ipv4)
        }
        #expect(after?.code == .shutdown)
    }
}
