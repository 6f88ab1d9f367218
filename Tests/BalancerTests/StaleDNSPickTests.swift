import DNSWire
import Testing
@testable import Balancer

/// Picks say whether their ring was built on DNS answers served stale: the access log's DS flag.
@Suite("picks from stale DNS")
struct StaleDNSPickTests {
    func snapshot(_ status: NameSnapshot.Status, generation: UInt64, ips: [String] = ["10.0.0.1"]) -> NameSnapshot {
        NameSnapshot(name: "api.test", content: .addresses(ips.map(ip)), status: status, generation: generation,
                     refreshedAt: origin, nextRefresh: at(5), ttl: 5)
    }

    @Test("fresh, then stale through a DNS failure, then held after NXDOMAIN, then fresh again")
    func followsTheNameStatus() throws {
        let up = balancer(targets: [TargetSpec(host: "api.test", port: 80, weight: 100)],
                          snapshots: [snapshot(.fresh, generation: 1)])
        func picked() throws -> Bool {
            let pick = try #require(up.pick(PickContext(), loop: 0))
            up.release(pick)
            return pick.staleDNS
        }
        #expect(try picked() == false)
        up.update(snapshot: snapshot(.stale(error: "timeout", since: at(6), until: at(3600)), generation: 2), now: at(6))
        #expect(up.ring.servesStaleDNS)
        #expect(try picked() == true)
        up.update(snapshot: snapshot(.negativeHold(reason: "NXDOMAIN", since: at(7), until: at(60)), generation: 3), now: at(7))
        #expect(try picked() == true)
        up.update(snapshot: snapshot(.fresh, generation: 4), now: at(8))
        #expect(!up.ring.servesStaleDNS)
        #expect(try picked() == false)
    }

    @Test("an IP-literal target never counts as stale DNS")
    func literalTargets() throws {
        let up = balancer(targets: ipTargets([100]))
        let pick = try #require(up.pick(PickContext(), loop: 0))
        #expect(!pick.staleDNS)
        up.release(pick)
    }
}
