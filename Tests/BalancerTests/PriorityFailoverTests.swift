import Testing
@testable import Balancer

/// RFC 2782 semantics: lowest priority group with an available address; weights within it; weight 0
/// only when no positive-weight entry of the group is available.
@Suite struct PriorityFailoverTests {
    static let name = "_http._tcp.api.test"
    static let records = [
        srv(10, 3, 9001, "a.test", ["10.0.0.1"]),
        srv(10, 1, 9002, "b.test", ["10.0.0.2"]),
        srv(10, 0, 9003, "z.test", ["10.0.0.3"]),
        srv(20, 1, 9004, "c.test", ["10.0.1.1", "2001:db8::4"]),
    ]
    let a = addr("10.0.0.1", 9001), b = addr("10.0.0.2", 9002), z = addr("10.0.0.3", 9003)
    let c1 = addr("10.0.1.1", 9004), c2 = addr("2001:db8::4", 9004)

    func upstream(_ algorithm: UpstreamSettings.Algorithm = .roundRobin) -> UpstreamBalancer {
        balancer(algorithm, targets: [TargetSpec(host: Self.name, port: 80)],
                 snapshots: [serviceSnapshot(Self.name, Self.records)])
    }

    @Test func onlyTheBestGroupGetsTrafficByWeight() {
        let up = upstream()
        let counts = up.tally(4_000)
        #expect(counts[a] == 3_000 && counts[b] == 1_000)
        #expect(counts[z] == nil && counts[c1] == nil && counts[c2] == nil)
        #expect(up.ring.activePriority == 10)
    }

    @Test(arguments: UpstreamSettings.Algorithm.allCases)
    func weightZeroOnlyWhenNoPositiveEntryIsAvailable(_ algorithm: UpstreamSettings.Algorithm) {
        let up = upstream(algorithm)
        #expect(up.tally(500)[z] == nil)
        up.eject(a, until: at(30), now: at(1))
        #expect(up.tally(500)[z] == nil)
        up.eject(b, until: at(30), now: at(1))
        #expect(up.tally(500) == [z: 500])
        up.restore(b, now: at(2))
        #expect(up.tally(500) == [b: 500])
    }

    @Test(arguments: UpstreamSettings.Algorithm.allCases)
    func failsOverWhenTheWholeGroupIsEjectedAndComesBack(_ algorithm: UpstreamSettings.Algorithm) {
        let up = upstream(algorithm)
        for address in [a, b, z] { up.eject(address, until: at(30), now: at(1)) }
        let failed = up.tally(1_000)
        #expect(Set(failed.keys) == [c1, c2])
        #expect(up.ring.activePriority == 20)
        up.restore(a, now: at(31))
        #expect(up.tally(200) == [a: 200])
        #expect(up.ring.activePriority == 10)
    }

    @Test func ejectionTakesEffectOnTheNextPickOfEveryLoop() {
        let up = balancer(targets: [TargetSpec(host: Self.name, port: 80)],
                          snapshots: [serviceSnapshot(Self.name, Self.records)], loops: 3)
        for loop in 0..<3 { _ = up.tally(7, loop: loop) }
        up.eject(a, until: at(10), now: at(1))
        for loop in 0..<3 {
            #expect(up.tally(50, loop: loop) == [b: 50])
        }
    }

    @Test func everythingEjectedMeansNoPick() {
        let up = upstream()
        for address in [a, b, z, c1, c2] { up.eject(address, until: at(30), now: at(1)) }
        #expect(up.pick(PickContext(), loop: 0) == nil)
        #expect(up.ring.isEmpty && up.ring.addresses.count == 5)
    }

    @Test func retriesMoveToTheNextGroupWhenTheBestIsExhausted() {
        let up = upstream()
        var context = PickContext()
        for address in [a, b, z] { context.excluding.insert(address) }
        let p = up.pick(context, loop: 0)
        #expect(p.map { [c1, c2].contains($0.address) } == true)
        #expect(p?.priority == 20)
    }

    @Test func followsSnapshotChanges() {
        let up = upstream()
        let reweighted = [srv(10, 1, 9001, "a.test", ["10.0.0.1"]), srv(10, 1, 9002, "b.test", ["10.0.0.2"])]
        up.update(snapshot: serviceSnapshot(Self.name, reweighted, generation: 2), now: at(5))
        #expect(up.tally(1_000) == [a: 500, b: 500])
        // An older snapshot arriving late is ignored.
        up.update(snapshot: serviceSnapshot(Self.name, Self.records, generation: 1), now: at(6))
        #expect(up.tally(1_000) == [a: 500, b: 500])
        // The best group disappears from DNS: the next one takes over.
        let onlyBackup = [srv(20, 1, 9004, "c.test", ["10.0.1.1"])]
        up.update(snapshot: serviceSnapshot(Self.name, onlyBackup, generation: 3), now: at(7))
        #expect(up.tally(10) == [c1: 10])
    }
}

@Suite struct PanicTests {
    @Test func belowThePanicThresholdTrafficGoesEverywhere() {
        let up = UpstreamBalancer(name: "up", settings: UpstreamSettings(panicThreshold: 50),
                                  targets: ipTargets([100, 100, 100, 100]), loops: 1, seed: 1, now: origin)
        up.eject(v4(1), until: at(30), now: at(0))
        up.eject(v4(2), until: at(30), now: at(0))
        // 2 of 4 available: not below 50%, ejections hold.
        #expect(!up.ring.isPanicking)
        #expect(Set(up.tally(100).keys) == [v4(3), v4(4)])
        up.eject(v4(3), until: at(30), now: at(0))
        #expect(up.ring.isPanicking)
        #expect(up.tally(400) == [v4(1): 100, v4(2): 100, v4(3): 100, v4(4): 100])
        up.restore(v4(1), now: at(1))
        #expect(!up.ring.isPanicking)
        #expect(Set(up.tally(100).keys) == [v4(1), v4(4)])
    }

    @Test("in panic a retry goes to an address that is not ejected, whatever the algorithm")
    func panicRetriesPreferLiveAddresses() {
        for algorithm in [UpstreamSettings.Algorithm.roundRobin, .leastConnections, .consistentHashing, .latency] {
            let up = UpstreamBalancer(name: "up", settings: UpstreamSettings(algorithm: algorithm, panicThreshold: 50),
                                      targets: ipTargets([100, 100, 100, 100]), loops: 1, seed: 7, now: origin)
            for dead in 1...3 { up.eject(v4(dead), until: at(30), now: at(0)) }
            #expect(up.ring.isPanicking)
            // 200 requests, each retried while it lands on an ejected address (as the proxy does after a
            // connect failure): every request reaches the live address on its first retry at the latest.
            var attempts: [Address: Int] = [:]
            for request in 0..<200 {
                var context = PickContext(hashKey: HashKey(value: UInt64(request) &* 0x9E37_79B9_7F4A_7C15), now: at(1))
                for attempt in 0..<4 {
                    guard let pick = up.pick(context, loop: 0) else { Issue.record("no pick"); break }
                    attempts[pick.address, default: 0] += 1
                    up.release(pick)
                    if pick.address == v4(4) { break }
                    #expect(attempt == 0, "\(algorithm): retry \(attempt) went to ejected \(pick.address)")
                    context.excluding.insert(pick.address)
                }
            }
            #expect(attempts[v4(4)] == 200, "\(algorithm)")
            // First attempts still spread over every address: panic sends traffic to ejected ones too.
            let deadAttempts = (1...3).map { attempts[v4($0), default: 0] }
            #expect(deadAttempts.allSatisfy { $0 > 0 }, "\(algorithm): \(attempts)")
            #expect(deadAttempts.reduce(0, +) < 200, "\(algorithm): \(attempts)")
        }
    }

    @Test func withoutAThresholdEverythingEjectedFailsFast() {
        let up = balancer(targets: ipTargets([100, 100]))
        up.eject(v4(1), until: at(30), now: at(0))
        up.eject(v4(2), until: at(30), now: at(0))
        #expect(!up.ring.isPanicking && up.pick(PickContext(), loop: 0) == nil)
        #expect(UpstreamSettings(panicThreshold: 101).problems.count == 1)
    }
}
