import PropertyBased
import Testing
@testable import Balancer

@Suite struct ConsistentHashingTests {
    func upstream(_ count: Int, weights: [UInt16]? = nil, skip: Int? = nil) -> UpstreamBalancer {
        let targets = (1...count).filter { $0 != skip }.map {
            TargetSpec(host: v4($0).ip.description, port: 80, weight: weights?[$0 - 1] ?? 100)
        }
        return balancer(.consistentHashing, targets: targets)
    }

    func mapping(_ up: UpstreamBalancer, keys: Int) -> [Address] {
        (0..<keys).map { k in
            guard let p = up.pick(PickContext(hashKey: HashKey("user-\(k)")), loop: 0) else { return v4(0) }
            up.release(p)
            return p.address
        }
    }

    @Test func sameKeySameAddress() {
        let up = upstream(10)
        let first = mapping(up, keys: 200)
        #expect(mapping(up, keys: 200) == first)
        // Another node (other seed, other loop count) maps keys identically.
        let other = UpstreamBalancer(name: "up", settings: UpstreamSettings(algorithm: .consistentHashing),
                                     targets: (1...10).map { TargetSpec(host: v4($0).ip.description, port: 80) },
                                     loops: 2, seed: 999, now: origin)
        #expect(mapping(other, keys: 200) == first)
    }

    /// Removing or adding one of N addresses moves only the keys of that address: about 1/N of them.
    @Test func disruptionIsAboutOneNth() async {
        await propertyCheck(count: 25, input: Gen.int(in: 3...40), Gen.int(in: 0...1000)) { n, pick in
            let keys = 6_000
            let removed = pick % n + 1
            let full = mapping(upstream(n), keys: keys)
            let less = mapping(upstream(n, skip: removed), keys: keys)
            var moved = 0
            for k in 0..<keys where full[k] != less[k] {
                moved += 1
                // Only keys of the removed address move (removal); the reverse is an addition.
                #expect(full[k] == v4(removed))
            }
            let fraction = Double(moved) / Double(keys)
            #expect(fraction <= 1.6 / Double(n) + 0.01, "n=\(n): \(fraction) of keys moved")
            #expect(moved == full.filter { $0 == v4(removed) }.count)
        }
    }

    @Test func keysSpreadByWeight() {
        let up = upstream(4, weights: [100, 100, 200, 400])
        let map = mapping(up, keys: 40_000)
        let share = { (i: Int) in Double(map.filter { $0 == v4(i) }.count) / 40_000 }
        #expect(abs(share(4) - 0.5) < 0.06)
        #expect(abs(share(3) - 0.25) < 0.05)
        #expect(abs(share(1) - 0.125) < 0.04)
    }

    @Test func anEjectedAddressLosesOnlyItsOwnKeys() {
        let up = upstream(8)
        let before = mapping(up, keys: 3_000)
        up.eject(v4(3), until: at(30), now: at(1))
        let during = mapping(up, keys: 3_000)
        for k in 0..<3_000 {
            if before[k] == v4(3) { #expect(during[k] != v4(3)) } else { #expect(during[k] == before[k]) }
        }
        up.restore(v4(3), now: at(31))
        #expect(mapping(up, keys: 3_000) == before)
    }

    @Test func retriesGoToAnotherAddressDeterministically() {
        let up = upstream(5)
        let key = HashKey("session-1")
        let first = up.pick(PickContext(hashKey: key), loop: 0)?.address
        var context = PickContext(hashKey: key)
        if let first { context.excluding.insert(first) }
        let second = up.pick(context, loop: 0)?.address
        #expect(first != nil && second != nil && first != second)
        #expect(up.pick(context, loop: 0)?.address == second)
    }

    @Test func withoutAKeyRequestsSpread() {
        let up = upstream(4)
        let counts = up.tally(8_000)
        #expect(counts.count == 4 && counts.values.allSatisfy { $0 > 1_400 })
    }
}
