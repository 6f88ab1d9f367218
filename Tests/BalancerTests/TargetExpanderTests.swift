import DNSWire
import Testing
@testable import Balancer

@Suite struct TargetExpanderTests {
    @Test func ipTargetsAreUsedAsIs() {
        let r = TargetExpander.expand(targets: [TargetSpec(host: "10.0.0.1", port: 81, weight: 5),
                                                TargetSpec(host: "2001:db8::7", port: 443)],
                                      snapshot: { _ in nil })
        #expect(r.addresses.map(\.address) == [addr("10.0.0.1", 81), addr("2001:db8::7", 443)])
        #expect(r.addresses.map(\.weight) == [5, 100])
        #expect(r.targets.map(\.dns) == [.literal, .literal])
        #expect(r.addresses[0].sources.first?.kind == .literal)
    }

    @Test func addressNamesInheritTargetPortAndWeight() {
        let snap = addressSnapshot("api.test", ["10.0.0.2", "10.0.0.1", "2001:db8::1"])
        let r = TargetExpander.expand(targets: [TargetSpec(host: "api.test", port: 8080, weight: 30)],
                                      snapshot: { $0 == "api.test" ? snap : nil })
        #expect(r.addresses.map(\.address) == [addr("10.0.0.1", 8080), addr("10.0.0.2", 8080), addr("2001:db8::1", 8080)])
        #expect(r.addresses.allSatisfy { $0.weight == 30 && $0.priority == 0 })
        #expect(r.targets[0].dns == .addressRecords(count: 3))
        #expect(r.targets[0].generation == 1)
    }

    @Test func serviceNamesUseSRVPortWeightAndPriority() {
        let snap = serviceSnapshot("_http._tcp.api.test", [
            srv(10, 60, 9001, "a.test", ["10.0.0.1", "10.0.0.2"]),
            srv(10, 0, 9002, "b.test", ["10.0.0.3"]),
            srv(20, 5, 9003, "c.test", ["2001:db8::3"]),
        ])
        let r = TargetExpander.expand(targets: [TargetSpec(host: "_http._tcp.api.test", port: 80, weight: 100)],
                                      snapshot: { _ in snap })
        let byAddress = Dictionary(uniqueKeysWithValues: r.addresses.map { ($0.address, $0) })
        #expect(byAddress[addr("10.0.0.1", 9001)]?.weight == 60)
        #expect(byAddress[addr("10.0.0.2", 9001)]?.priority == 10)
        #expect(byAddress[addr("10.0.0.3", 9002)]?.weight == 0)
        #expect(byAddress[addr("2001:db8::3", 9003)]?.priority == 20)
        guard case .serviceRecord(let name, let entry)? = byAddress[addr("10.0.0.3", 9002)]?.sources.first?.kind else {
            Issue.record("expected an SRV source")
            return
        }
        #expect(name == "_http._tcp.api.test" && entry.target == "b.test")
        #expect(r.targets[0].dns == .serviceRecords(count: 3))
    }

    @Test func duplicateAddressesMergeInTheirBestPriority() {
        let snap = serviceSnapshot("_s._tcp.x", [srv(1, 10, 80, "a", ["10.0.0.1"]), srv(5, 50, 80, "b", ["10.0.0.1"])])
        let r = TargetExpander.expand(targets: [TargetSpec(host: "_s._tcp.x", port: 80),
                                                TargetSpec(host: "10.0.0.1", port: 80, weight: 7)],
                                      snapshot: { _ in snap })
        #expect(r.addresses.count == 1)
        // The IP target has priority 0, so it wins over the SRV entries' 1 and 5.
        #expect(r.addresses[0].priority == 0 && r.addresses[0].weight == 7 && r.addresses[0].sources.count == 3)
    }

    @Test func weightZeroTargetIsShownButDisabled() {
        let r = TargetExpander.expand(targets: [TargetSpec(host: "10.0.0.1", port: 80, weight: 0),
                                                TargetSpec(host: "10.0.0.2", port: 80)],
                                      snapshot: { _ in nil })
        #expect(r.targets[0].isDisabled && r.targets[0].addresses == [addr("10.0.0.1")])
        #expect(r.addresses.map(\.address) == [addr("10.0.0.2")])
    }

    @Test func namesWithoutRecordsSayWhy() {
        let failed = NameSnapshot(name: "gone.test", content: .empty, status: .failed(error: "NXDOMAIN"),
                                  generation: 3, refreshedAt: nil, nextRefresh: at(30), ttl: nil)
        let r = TargetExpander.expand(targets: [TargetSpec(host: "gone.test", port: 80),
                                                TargetSpec(host: "new.test", port: 80)],
                                      snapshot: { $0 == "gone.test" ? failed : nil })
        #expect(r.targets[0].dns == .unresolved(reason: "NXDOMAIN"))
        #expect(r.targets[1].dns == .pending)
        #expect(r.addresses.isEmpty)
    }
}

@Suite struct RingViewTests {
    @Test func ringShowsExpansionAndPickableTiers() {
        let name = "_http._tcp.API.test."
        let up = balancer(targets: [TargetSpec(host: name, port: 80), TargetSpec(host: "10.9.0.1", port: 81, weight: 0)],
                          snapshots: [serviceSnapshot("_http._tcp.api.test", [srv(1, 5, 9000, "a.test", ["10.0.0.1"]),
                                                                               srv(2, 0, 9000, "b.test", ["10.0.0.2"])])])
        #expect(up.names == ["_http._tcp.api.test"])
        let ring = up.ring
        #expect(ring.targets.map(\.dns) == [.serviceRecords(count: 2), .literal])
        #expect(ring.targets[1].isDisabled)
        #expect(ring.addresses.map(\.address) == [addr("10.0.0.1", 9000), addr("10.0.0.2", 9000)])
        #expect(ring.pickableTiers.map(\.priority) == [1, 2])
        #expect(ring.pickableTiers.map(\.isZeroWeight) == [false, true])
        #expect(ring.pickableTiers[0].weights == [5])
        let before = ring.generation
        up.eject(addr("10.0.0.1", 9000), until: at(9), now: at(1))
        #expect(up.ring.generation == before + 1)
        #expect(up.ring.pickableTiers.map(\.priority) == [2])
        #expect(up.ring.addresses.count == 2)
        let status = up.health.statuses().first { $0.address == addr("10.0.0.1", 9000) }
        #expect(status?.isAvailable == false && status?.ejection?.until == at(9) && status?.membership == .member)
    }
}
