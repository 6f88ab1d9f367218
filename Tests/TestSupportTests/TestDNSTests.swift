import Foundation
import Testing
import TestSupport

@Suite("TestDNS drives a real BIND9")
struct TestDNSTests {
    @Test func startsAndAnswersForItsZone() throws {
        let dns = try TestDNS.start()
        defer { dns.shutdown() }
        #expect(dns.zone == "svc.test")
        #expect(dns.server == "127.0.0.1:\(dns.port)")
        #expect(FileManager.default.fileExists(atPath: dns.dir + "/named.conf"))
        let soa = try dns.lookup("svc.test.", "SOA")
        #expect(soa.status == "NOERROR")
        #expect(soa.flags.contains("aa"))
        let record = try #require(soa.answer.first)
        #expect(record.type == "SOA")
        // The negative-caching TTL (SOA minimum) is short so NXDOMAIN expiry is quick to observe.
        #expect(record.data.split(separator: " ").last == "2")
    }

    @Test func registeredRecordsAreServedWithTheirTTLs() throws {
        let dns = try TestDNS.start()
        defer { dns.shutdown() }
        try dns.register("backend1.svc.test", "A", "127.0.0.11")
        try dns.register("backend2", "AAAA", "::1", ttl: 7)
        try dns.register("_http._tcp.api.svc.test", "SRV", "10 5 9001 backend1.svc.test.", ttl: 2)

        let a = try dns.lookup("backend1.svc.test.", "A")
        #expect(a.answer == [.init(name: "backend1.svc.test.", ttl: 5, type: "A", data: "127.0.0.11")])
        let aaaa = try dns.lookup("backend2.svc.test.", "AAAA")
        #expect(aaaa.answer == [.init(name: "backend2.svc.test.", ttl: 7, type: "AAAA", data: "::1")])

        let srv = try dns.lookup("_http._tcp.api.svc.test.", "SRV")
        #expect(srv.answer == [.init(name: "_http._tcp.api.svc.test.", ttl: 2, type: "SRV",
                                     data: "10 5 9001 backend1.svc.test.")])
        // Glue for the SRV target rides along in ADDITIONAL.
        #expect(srv.additional.contains(.init(name: "backend1.svc.test.", ttl: 5, type: "A", data: "127.0.0.11")))
    }

    @Test func deregisterRemovesOneRecordOrAll() throws {
        let dns = try TestDNS.start()
        defer { dns.shutdown() }
        let name = "_http._tcp.api.svc.test"
        try dns.register(name, "SRV", "10 5 9001 backend1.svc.test.")
        try dns.register(name, "SRV", "10 5 9002 backend2.svc.test.")
        #expect(try dns.lookup(name, "SRV").answer.count == 2)

        try dns.deregister(name, "SRV", "10 5 9001 backend1.svc.test.")
        #expect(try dns.lookup(name, "SRV").answer.map(\.data) == ["10 5 9002 backend2.svc.test."])

        try dns.deregister(name)
        let gone = try dns.lookup(name, "SRV")
        #expect(gone.status == "NXDOMAIN")
        #expect(gone.answer.isEmpty)
    }

    @Test func restartKeepsPortAndUpdates() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("backend1", "A", "127.0.0.21")
        try await dns.stopServer()
        await #expect(throws: TestDNSError.self) { try await dns.lookup("backend1.svc.test.", "A") }

        try await dns.restartServer()
        let answer = try await dns.lookup("backend1.svc.test.", "A")
        #expect(answer.answer.map(\.data) == ["127.0.0.21"])
        let env = try String(contentsOfFile: dns.dir + "/env", encoding: .utf8)
        #expect(env.contains("TESTDNS_PORT=\(dns.port)\n"))
        // Updates after a restart still work.
        try await dns.register("backend2", "A", "127.0.0.22")
        #expect(try await dns.lookup("backend2.svc.test.", "A").answer.map(\.data) == ["127.0.0.22"])
    }

    @Test func instancesRunSideBySide() throws {
        let first = try TestDNS.start()
        defer { first.shutdown() }
        let second = try TestDNS.start(zone: "other.test")
        defer { second.shutdown() }
        #expect(first.port != second.port)
        #expect(first.dir != second.dir)

        try first.register("only-first", "A", "127.0.0.31")
        try second.register("only-second", "A", "127.0.0.32")
        #expect(try first.lookup("only-first.svc.test.", "A").answer.map(\.data) == ["127.0.0.31"])
        #expect(try second.lookup("only-second.other.test.", "A").answer.map(\.data) == ["127.0.0.32"])
        #expect(try first.lookup("only-second.other.test.", "A").answer.isEmpty)
    }

    @Test func largeSRVSetNeedsTCP() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let name = "_http._tcp.big.svc.test."
        let lines = (1...120).map { "update add \(name) 5 IN SRV 10 1 \(10_000 + $0) backend\($0 % 7).svc.test." }
        try await dns.registerBatch(lines: lines)

        let overTCP = try await dns.lookup(name, "SRV", tcp: true)
        #expect(overTCP.answer.count == 120)
        let ports = Set(overTCP.answer.compactMap { Int($0.data.split(separator: " ")[2]) })
        #expect(ports == Set(10_001...10_120))

        let overUDP = try await dns.lookup(name, "SRV")
        #expect(overUDP.isTruncated)
    }

    @Test func demoRecordsForTheQuickstart() throws {
        let dns = try TestDNS.start(demo: true)
        defer { dns.shutdown() }
        let srv = try dns.lookup("_http._tcp.demo.svc.test.", "SRV")
        #expect(srv.answer.map(\.data).sorted() == [
            "10 5 9001 backend1.svc.test.", "10 5 9002 backend2.svc.test.", "10 5 9003 backend3.svc.test.",
        ])
        #expect(srv.additional.filter { $0.type == "A" }.count == 3)
    }

    @Test func failedUpdateCarriesTheReason() throws {
        let dns = try TestDNS.start()
        defer { dns.shutdown() }
        let error = try #require(throws: TestDNSError.self) {
            try dns.register("elsewhere.example.", "A", "127.0.0.1")
        }
        #expect(error.stderr.contains("NOTZONE"))
        let badType = try #require(throws: TestDNSError.self) {
            try dns.register("x", "NOTATYPE", "1")
        }
        #expect(badType.exitStatus == 1)
    }

    @Test func shutdownStopsNamedAndRemovesTheDirectory() throws {
        let dns = try TestDNS.start()
        let pidText = try String(contentsOfFile: dns.dir + "/named.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == 0)
        dns.shutdown()
        #expect(!FileManager.default.fileExists(atPath: dns.dir))
        // Gone, or a zombie awaiting its reaper: either way no longer running with this config.
        let commandLine = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        #expect(!commandLine.contains(dns.dir))
        dns.shutdown() // idempotent
    }
}
