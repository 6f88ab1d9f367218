import Testing
@testable import Balancer

@Suite struct ConcurrencyTests {
    /// Picks on two loops run while the ring is rebuilt and addresses are ejected and restored; every
    /// pick is a current or recent member, and every in-flight count returns to zero.
    @Test func picksProceedWhileRingsAreRebuilt() async {
        let name = "api.test"
        let up = balancer(.leastConnections, targets: [TargetSpec(host: name, port: 80)],
                          snapshots: [addressSnapshot(name, ["10.0.0.1", "10.0.0.2", "10.0.0.3"])], loops: 2)
        let all: Set<Address> = [addr("10.0.0.1"), addr("10.0.0.2"), addr("10.0.0.3"), addr("10.0.0.4")]
        await withTaskGroup(of: Int.self) { group in
            for loop in 0..<2 {
                group.addTask {
                    var misses = 0
                    for i in 0..<50_000 {
                        guard let p = up.pick(PickContext(), loop: loop) else { misses += 1; continue }
                        if !all.contains(p.address) { misses += 1_000_000 }
                        if i % 2 == 0 { up.release(p) } else {
                            up.finish(p, outcome: .success(latency: .microseconds(100)), now: at(Double(i) / 1000))
                        }
                    }
                    return misses
                }
            }
            group.addTask {
                for g in 0..<300 {
                    let ips = g % 2 == 0 ? ["10.0.0.1", "10.0.0.2", "10.0.0.4"] : ["10.0.0.1", "10.0.0.3", "10.0.0.4"]
                    up.update(snapshot: addressSnapshot(name, ips, generation: UInt64(g + 2)), now: at(Double(g)))
                    up.eject(addr("10.0.0.4"), until: at(Double(g) + 0.5), now: at(Double(g)))
                    up.restore(addr("10.0.0.4"), now: at(Double(g)))
                }
                return 0
            }
            var total = 0
            for await misses in group { total += misses }
            // 10.0.0.1 is never ejected nor removed, so no pick can come back empty.
            #expect(total == 0)
        }
        for status in up.health.statuses() { #expect(status.inFlight == 0) }
        #expect(up.ring.generation == 1 + 300 * 3)
    }
}
