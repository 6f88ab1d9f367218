import PropertyBased
import Testing
@testable import Balancer

@Suite struct RoundRobinTests {
    /// Each address's share over 10,000 picks is within 1% of its weight share.
    @Test func sharesFollowWeights() async {
        await propertyCheck(count: 60, input: Gen.int(in: 1...1000).array(of: 2...12)) { weights in
            let b = balancer(targets: ipTargets(weights.map { UInt16($0) }))
            let counts = b.tally(10_000)
            let total = Double(weights.reduce(0, +))
            for (i, w) in weights.enumerated() {
                let share = Double(counts[v4(i + 1)] ?? 0) / 10_000
                #expect(abs(share - Double(w) / total) <= 0.01, "address \(i) weight \(w) of \(weights)")
            }
        }
    }

    /// No burst: over any stretch of picks, every address's count stays within 3.5 of its exact share.
    @Test func sequenceIsSmooth() async {
        await propertyCheck(count: 80, input: Gen.int(in: 1...200).array(of: 2...10)) { weights in
            let b = balancer(targets: ipTargets(weights.map { UInt16($0) }))
            let total = Double(weights.reduce(0, +))
            let seq = b.sequence(2 * weights.reduce(0, +) + 10)
            var counts = [Int](repeating: 0, count: weights.count)
            var worst = 0.0
            for (t, a) in seq.enumerated() {
                counts[Int(a.ip.description.split(separator: ".").last.flatMap { Int($0) } ?? 0) - 1] += 1
                for (i, w) in weights.enumerated() {
                    worst = max(worst, abs(Double(counts[i]) - Double(t + 1) * Double(w) / total))
                }
            }
            #expect(worst < 3.5, "weights \(weights): a count strayed \(worst) from its share")
        }
    }

    @Test func lightAddressesAreSpreadOut() {
        // 5:1:1 -> the heavy address never runs more than 3 in a row (the least possible).
        let seq = balancer(targets: ipTargets([5, 1, 1])).sequence(70)
        #expect(maxRun(seq, of: v4(1)) == 3)
        #expect(seq.filter { $0 == v4(1) }.count == 50)
        // Equal weights: never the same address twice in a row.
        let even = balancer(targets: ipTargets([7, 7, 7, 7, 7])).sequence(100)
        #expect((1...5).allSatisfy { maxRun(even, of: v4($0)) == 1 })
        // 1:1:30-style skew: the light ones are not adjacent.
        let skew = balancer(targets: ipTargets([2, 30, 2])).sequence(340)
        #expect(maxRun(skew, of: v4(1)) == 1 && maxRun(skew, of: v4(3)) == 1)
        #expect(maxRun(skew, of: v4(2)) <= 9)
    }

    func maxRun(_ seq: [Address], of address: Address) -> Int {
        var run = 0, best = 0
        for a in seq {
            run = a == address ? run + 1 : 0
            best = max(best, run)
        }
        return best
    }

    @Test func equalWeightsRotateThroughEveryAddress() {
        let b = balancer(targets: ipTargets([100, 100, 100, 100]))
        let seq = b.sequence(8)
        #expect(Set(seq[0..<4]).count == 4)
        #expect(Array(seq[0..<4]) == Array(seq[4..<8]))
    }

    @Test func loopsShareWithoutLockAndStillFollowWeights() {
        let b = balancer(targets: ipTargets([300, 100]), loops: 4)
        var counts: [Address: Int] = [:]
        for loop in 0..<4 {
            counts.merge(b.tally(2_000, loop: loop), uniquingKeysWith: +)
        }
        #expect(abs(Double(counts[v4(1)] ?? 0) / 8_000 - 0.75) <= 0.01)
    }

    @Test func retryExcludesTriedAddresses() {
        let b = balancer(targets: ipTargets([100, 100, 100]))
        var context = PickContext()
        var seen: Set<Address> = []
        for _ in 0..<3 {
            guard let p = b.pick(context, loop: 0) else {
                Issue.record("expected a pick")
                return
            }
            #expect(!seen.contains(p.address))
            seen.insert(p.address)
            context.excluding.insert(p.address)
            b.release(p)
        }
        #expect(b.pick(context, loop: 0) == nil)
    }

    @Test func excludedAddressesKeepTheLastEight() {
        var ex = ExcludedAddresses()
        for i in 1...10 { ex.insert(v4(i)) }
        #expect(ex.count == ExcludedAddresses.capacity)
        #expect(!ex.contains(v4(1)) && !ex.contains(v4(2)))
        #expect((3...10).allSatisfy { ex.contains(v4($0)) })
        ex.insert(v4(10))
        #expect(ex.contains(v4(3)))
    }

    @Test func emptyUpstreamPicksNothing() {
        for algorithm in UpstreamSettings.Algorithm.allCases {
            let b = balancer(algorithm, targets: [])
            #expect(b.pick(PickContext(), loop: 0) == nil)
            #expect(b.ring.isEmpty)
            let unresolved = balancer(algorithm, targets: [TargetSpec(host: "api.test", port: 80)])
            #expect(unresolved.pick(PickContext(), loop: 0) == nil)
        }
    }

    @Test func ipv6TargetsArePicked() {
        let b = balancer(targets: [TargetSpec(host: "2001:db8::1", port: 443), TargetSpec(host: "::1", port: 8443)])
        let counts = b.tally(100)
        #expect(counts[addr("2001:db8::1", 443)] == 50 && counts[addr("::1", 8443)] == 50)
    }

    @Test func largeWeightsAreScaledWithinOnePercent() {
        // gcd 1 and a sum far above the schedule limit: the schedule is scaled, shares stay right.
        let weights: [UInt16] = [65_535, 65_521, 1, 40_000, 7]
        let b = balancer(targets: ipTargets(weights))
        let counts = b.tally(100_000)
        let total = Double(weights.reduce(0) { $0 + Int($1) })
        for (i, w) in weights.enumerated() {
            #expect(abs(Double(counts[v4(i + 1)] ?? 0) / 100_000 - Double(w) / total) <= 0.01)
        }
        #expect((counts[v4(3)] ?? 0) > 0)
    }
}
