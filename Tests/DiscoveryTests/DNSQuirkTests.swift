import Balancer
import DNSWire
import Discovery
import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport

/// How Switchyard copes with the habits of Consul DNS and CoreDNS (Kubernetes), shown with a fake server
/// that answers the way they do.
@Suite("DNS server quirks")
struct DNSQuirkTests {
    @Test("Consul's TTL 0: 1,000 watched names cost at most one query per name per dns_min_ttl")
    func consulTTLZeroIsRefreshedAtTheFloor() async throws {
        let server = try FakeDNSServer(tcp: false) { bytes, _ in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            return [FakeDNSResponse(answering: query, answers: [.address(query.name, IPAddress("127.0.0.7")!, ttl: 0)]).encoded()]
        }
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)", timeout: .seconds(1))
        defer { resolver.shutdown() }
        var policy = RefreshPolicy()
        policy.minTTL = .seconds(1)
        let watcher = DNSWatcher(resolver: resolver, policy: policy, families: .ipv4)
        defer { watcher.shutdown() }
        let names = (0..<1000).map { "node\($0).web.service.consul" }
        let started = ContinuousClock.now
        names.forEach { watcher.watch($0) }
        // Every name answered once (bounded: a loaded machine takes a while for the first 1,000, and a UDP
        // datagram dropped from a full socket buffer is only asked again after the timeout), then 2 s more.
        while watcher.statuses.contains(where: { $0.snapshot.status != .fresh }), ContinuousClock.now - started < .seconds(20) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(2))
        let elapsed = ContinuousClock.now - started
        let statuses = watcher.statuses
        // The first query goes out at once, then one per floor interval at most.
        let allowed = 1 + Int(elapsed / policy.minTTL)
        #expect(statuses.count == 1000)
        let most = statuses.map(\.queries).max() ?? 0
        #expect(most <= allowed, "a name was asked \(most) times in \(elapsed)")
        #expect(statuses.allSatisfy { $0.queries >= 1 })
        #expect(statuses.filter { $0.snapshot.ttl == 0 && $0.snapshot.status == .fresh }.count >= 990)
        // The server side agrees (c-ares retries on timeout would show here).
        var perName: [String: Int] = [:]
        for query in server.receivedQueries {
            if let parsed = FakeDNSQuery(query.bytes) { perName[parsed.name.lowercased(), default: 0] += 1 }
        }
        #expect(perName.count == 1000)
        #expect(perName.values.max() ?? 0 <= allowed)
    }

    @Test("CoreDNS headless services: every SRV record has weight floor(100/N) and priority 0, so pods share equally")
    func coreDNSEqualWeightsMeanEqualShares() async throws {
        let name = "_http._tcp.web.default.svc.cluster.local"
        let pods = ["10-0-0-1", "10-0-0-2", "10-0-0-3"]
        let server = try FakeDNSServer(tcp: false) { bytes, _ in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            let answers = pods.map { pod in
                FakeDNSRecord.srv(name, priority: 0, weight: UInt16(100 / pods.count), port: 8080,
                                  target: "\(pod).web.default.svc.cluster.local", ttl: 5)
            }
            let glue = pods.enumerated().map { index, pod in
                FakeDNSRecord.address("\(pod).web.default.svc.cluster.local", IPAddress("10.0.0.\(index + 1)")!, ttl: 5)
            }
            return [FakeDNSResponse(answering: query, answers: answers, additional: glue).encoded()]
        }
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)")
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch(name)
        let (snapshot, _) = try #require(await waitForSnapshot(watcher, name, within: .seconds(10)) { $0.serviceList.count == 3 })
        #expect(snapshot.serviceList.map(\.weight) == [33, 33, 33])
        #expect(snapshot.serviceList.map(\.priority) == [0, 0, 0])
        let expansion = TargetExpander.expand(targets: [TargetSpec(host: name, port: 80)]) { watcher.snapshot(of: $0) }
        #expect(expansion.addresses.map(\.address.port) == [8080, 8080, 8080])
        #expect(Set(expansion.addresses.map(\.weight)) == [33])
        #expect(Set(expansion.addresses.map(\.priority)) == [0])
    }

    /// Like Consul without `enable_truncate`: over UDP 3 of the 5 records (which 3 depends on the query ID), no
    /// TC bit; over TCP all 5.
    static func consulLikeServer(name: String) throws -> FakeDNSServer {
        try FakeDNSServer(tcp: true) { bytes, transport in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            let all = (1...5).map { FakeDNSRecord.address(name, IPAddress("10.0.0.\($0)")!, ttl: 0) }
            let start = Int(query.id % 5)
            let answers = transport == .tcp ? all : (0..<3).map { all[(start + $0) % 5] }
            return [FakeDNSResponse(answering: query, answers: answers).encoded()]
        }
    }

    @Test("Consul over UDP: answers cut to 3 records without TC are detected; dns_prefer_tcp sees all 5")
    func consulSilentTruncation() async throws {
        let name = "web.service.consul"
        let server = try Self.consulLikeServer(name: name)
        defer { server.stop() }
        var policy = RefreshPolicy()
        policy.minTTL = .milliseconds(300)

        let udp = try makeResolver(server: "127.0.0.1:\(server.port)")
        defer { udp.shutdown() }
        let watcher = DNSWatcher(resolver: udp, policy: policy, families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch(name)
        let started = ContinuousClock.now
        while watcher.statuses.first?.warning == nil, ContinuousClock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let warning = try #require(watcher.statuses.first?.warning)
        #expect(warning.contains("exactly 3 records") && warning.contains("dns_prefer_tcp"), "\(warning)")
        #expect(watcher.snapshot(of: name)?.addressList.count == 3)

        let tcp = try makeResolver(server: "127.0.0.1:\(server.port)", tcpOnly: true)
        defer { tcp.shutdown() }
        let overTCP = DNSWatcher(resolver: tcp, policy: policy, families: .ipv4)
        defer { overTCP.shutdown() }
        overTCP.watch(name)
        let all = await waitForSnapshot(overTCP, name, within: .seconds(5)) { $0.addressList.count == 5 }
        #expect(all != nil)
        try await Task.sleep(for: .milliseconds(700))
        #expect(overTCP.statuses.first?.warning == nil)
        #expect(overTCP.snapshot(of: name)?.addressList.count == 5)
    }

    @Test("an answer too big even for TCP: a clear error naming the name and size, and the last good answer kept")
    func answerTooBigEvenForTCP() async throws {
        let name = "_http._tcp.huge.svc.test"
        let tooBig = NIOLockedValueBox(false)
        let server = try FakeDNSServer(tcp: true) { bytes, transport in
            guard let query = FakeDNSQuery(bytes) else { return [] }
            let huge = tooBig.withLockedValue { $0 }
            let count = huge ? (transport == .tcp ? 2000 : 0) : 2
            var response = FakeDNSResponse(answering: query, answers: (0..<count).map {
                .srv(name, priority: 10, weight: 5, port: UInt16(10_000 + $0), target: "backend-with-a-long-name-\($0).svc.test", ttl: 1)
            })
            // What a server does with an answer past 65,535 bytes: as much as fits, and TC, over UDP and TCP alike.
            if huge {
                response.truncated = true
                while response.encoded().count > 65_000 { response.answers.removeLast(100) }
            }
            return [response.encoded()]
        }
        defer { server.stop() }
        let resolver = try makeResolver(server: "127.0.0.1:\(server.port)", timeout: .seconds(1))
        defer { resolver.shutdown() }
        var policy = RefreshPolicy()
        policy.minTTL = .milliseconds(300)
        let watcher = DNSWatcher(resolver: resolver, policy: policy, families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch(name)
        let first = await waitForSnapshot(watcher, name, within: .seconds(15)) { $0.serviceList.count == 2 }
        #expect(first != nil)

        tooBig.withLockedValue { $0 = true }
        let started = ContinuousClock.now
        // Bounded wait for the error (a loaded machine may first time out on the large TCP answer).
        while !(watcher.statuses.first?.lastError ?? "").contains("too big"), ContinuousClock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let error = try #require(watcher.statuses.first?.lastError)
        #expect(error.contains("SRV \(name)") && error.contains("too big even for TCP") && error.contains("bytes"), "\(error)")
        let snapshot = try #require(watcher.snapshot(of: name))
        #expect(snapshot.isStale)
        #expect(snapshot.serviceList.map(\.port) == [10_000, 10_001])
    }
}
