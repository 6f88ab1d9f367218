import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// SRV sets whose targets need lookups of their own: the resolver fans out one child task per target and
/// collects `(target, outcome)` pairs. Release builds of 43f044a crashed here from 20 records on (the
/// optimizer left the target name of each pair uninitialised; see Tests/Reproductions/AsyncClosureTupleReturn).
/// The suite runs in the release test pass of scripts/test, which is where it could fail.
@Suite("Large SRV sets against BIND9")
struct LargeServiceSetTests {
    /// Five targets that exist (127.0.3.1-5) and two that do not, so both outcomes cross the task group.
    static let targets = (0..<7).map { "t\($0).svc.test" }

    static func expectedAddress(of target: String) -> IPAddress? {
        guard let index = targets.firstIndex(of: target), index < 5 else { return nil }
        return ip("127.0.3.\(index + 1)")
    }

    @Test("every entry of a 1 to 300 record SRV set comes back intact, over UDP and TCP",
          arguments: [1, 20, 30, 60, 90, 150, 300], [false, true])
    func intactEntries(records: Int, tcpOnly: Bool) async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        var lines = (0..<5).map { "update add t\($0).svc.test. 30 IN A 127.0.3.\($0 + 1)" }
        for i in 0..<records {
            lines.append("update add _big._tcp.svc.test. 30 IN SRV 10 10 \(7000 + i) \(Self.targets[i % 7]).")
        }
        try await dns.registerBatch(lines: lines)
        let resolver = try makeResolver(server: dns.server, tcpOnly: tcpOnly, timeout: .seconds(2))
        defer { resolver.shutdown() }

        for _ in 0..<15 {
            let srv = try await resolver.resolveService("_big._tcp.svc.test", families: .ipv4)
            #expect(srv.entries.count == records)
            #expect(Set(srv.entries.map(\.port)) == Set((0..<records).map { UInt16(7000 + $0) }))
            for entry in srv.entries {
                let i = Int(entry.port) - 7000
                #expect(entry.target == Self.targets[i % 7])
                if let address = Self.expectedAddress(of: entry.target) {
                    #expect(entry.addresses == [address], "\(entry.target)")
                    #expect(entry.addressError == nil)
                } else {
                    #expect(entry.addresses.isEmpty)
                    #expect(entry.addressError?.code == .nxdomain, "\(entry.target): \(String(describing: entry.addressError))")
                }
            }
        }
    }
}
