import Foundation
import Testing
import TestSupport
@testable import Balancer

/// A deterministic discrete-event simulation: Poisson arrivals over backends with a few workers each
/// and exponential service times, one of them ten times slower. Same seed, same arrivals and service
/// draws for both algorithms.
@Suite struct LatencySimulationTests {
    struct Result {
        var mean: Double
        var p99: Double
        var slowShare: Double
    }

    struct Event: Comparable {
        var time: Double
        var seq: Int
        var kind: Kind
        enum Kind { case arrival, done(backend: Int, job: Int) }
        static func < (a: Event, b: Event) -> Bool { (a.time, a.seq) < (b.time, b.seq) }
        static func == (a: Event, b: Event) -> Bool { a.time == b.time && a.seq == b.seq }
    }

    /// A binary min-heap, enough for the simulation.
    struct Heap {
        var items: [Event] = []
        mutating func push(_ e: Event) {
            items.append(e)
            var i = items.count - 1
            while i > 0, items[i] < items[(i - 1) / 2] { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        }
        mutating func pop() -> Event? {
            guard !items.isEmpty else { return nil }
            items.swapAt(0, items.count - 1)
            let top = items.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
            return top
        }
    }

    func simulate(_ algorithm: UpstreamSettings.Algorithm, meanService: [Double], workers: Int,
                  rate: Double, requests: Int, seed: UInt64) -> Result {
        var rng = SeededGenerator(seed: seed)
        func exponential(_ mean: Double) -> Double {
            -mean * log(1 - Double(rng.next() >> 11) / Double(1 << 53))
        }
        let targets = meanService.indices.map { TargetSpec(host: v4($0 + 1).ip.description, port: 80) }
        let up = balancer(algorithm, targets: targets, seed: seed)
        var heap = Heap()
        var seq = 0
        var busy = [Int](repeating: 0, count: meanService.count)
        var queues = [[Int]](repeating: [], count: meanService.count)
        var picks: [Pick?] = Array(repeating: nil, count: requests)
        var started = [Double](repeating: 0, count: requests)
        var latencies: [Double] = []
        var slow = 0
        var arrived = 0
        heap.push(Event(time: 0, seq: 0, kind: .arrival))
        func startJob(_ job: Int, on b: Int, at t: Double) {
            busy[b] += 1
            seq += 1
            heap.push(Event(time: t + exponential(meanService[b]), seq: seq, kind: .done(backend: b, job: job)))
        }
        while let e = heap.pop() {
            let now = origin + .nanoseconds(Int64(e.time * 1e9))
            switch e.kind {
            case .arrival:
                let job = arrived
                arrived += 1
                if arrived < requests {
                    seq += 1
                    heap.push(Event(time: e.time + exponential(1 / rate), seq: seq, kind: .arrival))
                }
                guard let p = up.pick(PickContext(now: now), loop: 0),
                      let b = targets.firstIndex(where: { $0.host == p.address.ip.description }) else { continue }
                picks[job] = p
                started[job] = e.time
                if b == meanService.indices.max(by: { meanService[$0] < meanService[$1] }) { slow += 1 }
                if busy[b] < workers { startJob(job, on: b, at: e.time) } else { queues[b].append(job) }
            case .done(let b, let job):
                busy[b] -= 1
                let latency = e.time - started[job]
                latencies.append(latency)
                if let p = picks[job] {
                    up.finish(p, outcome: .success(latency: .nanoseconds(Int64(latency * 1e9))), now: now)
                }
                if !queues[b].isEmpty { startJob(queues[b].removeFirst(), on: b, at: e.time) }
            }
        }
        latencies.sort()
        return Result(mean: latencies.reduce(0, +) / Double(latencies.count),
                      p99: latencies[latencies.count * 99 / 100],
                      slowShare: Double(slow) / Double(latencies.count))
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func latencyBeatsLeastConnectionsOnUnevenBackends(seed: UInt64) {
        // Four backends at 10 ms, one at 100 ms, 4 workers each; about 40% of total capacity.
        let service = [0.010, 0.010, 0.100, 0.010, 0.010]
        let lc = simulate(.leastConnections, meanService: service, workers: 4, rate: 650, requests: 20_000, seed: seed)
        let ewma = simulate(.latency, meanService: service, workers: 4, rate: 650, requests: 20_000, seed: seed)
        #expect(ewma.mean < 0.85 * lc.mean, "mean: latency \(ewma.mean) vs least-connections \(lc.mean)")
        #expect(ewma.p99 < 0.6 * lc.p99, "p99: latency \(ewma.p99) vs least-connections \(lc.p99)")
        #expect(ewma.slowShare < lc.slowShare)
    }

    @Test func latencyStillUsesEveryBackendWhenTheyAreEven() {
        let service = [0.010, 0.010, 0.010, 0.010]
        let r = simulate(.latency, meanService: service, workers: 4, rate: 600, requests: 8_000, seed: 9)
        let rr = simulate(.roundRobin, meanService: service, workers: 4, rate: 600, requests: 8_000, seed: 9)
        #expect(r.mean < 1.2 * rr.mean)
    }
}
