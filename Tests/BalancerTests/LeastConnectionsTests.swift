import Testing
@testable import Balancer

@Suite struct LeastConnectionsTests {
    @Test func inFlightRequestsEvenOut() throws {
        let up = balancer(.leastConnections, targets: ipTargets([100, 100, 100, 100]), loops: 2)
        var held: [Pick] = []
        for i in 0..<40 { held.append(try #require(up.pick(PickContext(), loop: i % 2))) }
        let perAddress = Dictionary(grouping: held, by: \.address).mapValues(\.count)
        #expect(perAddress.count == 4 && perAddress.values.allSatisfy { $0 == 10 })
        // One address finishes its requests: it gets the next ones.
        for p in held where p.address == v4(2) { up.finish(p, outcome: .success(latency: .milliseconds(1)), now: at(1)) }
        held.removeAll { $0.address == v4(2) }
        for _ in 0..<10 {
            let p = try #require(up.pick(PickContext(), loop: 0))
            #expect(p.address == v4(2))
            held.append(p)
        }
        for p in held { up.release(p) }
        #expect((1...4).allSatisfy { up.health.health(of: v4($0))?.inFlight == 0 })
    }

    @Test func weightsScaleTheShareOfConnections() throws {
        let up = balancer(.leastConnections, targets: ipTargets([100, 300]))
        var held: [Pick] = []
        for _ in 0..<400 { held.append(try #require(up.pick(PickContext(), loop: 0))) }
        #expect(up.health.health(of: v4(1))?.inFlight == 100)
        #expect(up.health.health(of: v4(2))?.inFlight == 300)
        for p in held { up.release(p) }
    }

    @Test func largeUpstreamsStayBalanced() throws {
        // Past the comparison window the rotating start still covers every address.
        let count = 500
        let up = balancer(.leastConnections, targets: (1...count).map { TargetSpec(host: v4($0).ip.description, port: 80) })
        var held: [Pick] = []
        for _ in 0..<(3 * count) { held.append(try #require(up.pick(PickContext(), loop: 0))) }
        let loads = (1...count).compactMap { up.health.health(of: v4($0))?.inFlight }
        #expect(loads.count == count && loads.min() ?? 0 >= 2 && loads.max() ?? 99 <= 4)
        for p in held { up.release(p) }
    }
}
