import Balancer
import Benchmark
import DNSWire

/// Pick cost per algorithm and upstream size, ring rebuild cost, and allocations per pick.
let benchmarks: @Sendable () -> Void = {
    let origin = ContinuousClock.now
    let pickConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .instructions, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 2_000
    )
    let rebuildConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .instructions, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 50
    )

    func address(_ i: Int) -> IPAddress { .v4(0x0A00_0000 &+ UInt32(i)) }

    func upstream(_ algorithm: UpstreamSettings.Algorithm, size: Int) -> UpstreamBalancer {
        let targets = (0..<size).map { TargetSpec(host: address($0 + 1).description, port: 80, weight: UInt16(50 + $0 % 100)) }
        return UpstreamBalancer(name: "bench", settings: UpstreamSettings(algorithm: algorithm), targets: targets,
                                loops: 2, seed: 7, now: origin)
    }

    let keys = (0..<1024).map { HashKey("user-\($0)") }

    for algorithm in UpstreamSettings.Algorithm.allCases {
        for size in [4, 100, 10_000] {
            let up = upstream(algorithm, size: size)
            // Requests in flight on every address, as under load, so least-connections compares counts.
            var held: [Pick] = []
            for _ in 0..<(size * 2) {
                if let p = up.pick(PickContext(), loop: 1) { held.append(p) }
            }
            let now = origin + .seconds(1)
            for (i, p) in held.enumerated() where i % 2 == 0 {
                up.finish(p, outcome: .success(latency: .microseconds(200 + i % 700)), now: now)
            }
            Benchmark("Pick \(algorithm.rawValue) \(size) addresses", configuration: pickConfiguration) { benchmark in
                var i = 0
                for _ in benchmark.scaledIterations {
                    let context = PickContext(hashKey: algorithm == .consistentHashing ? keys[i & 1023] : nil, now: now)
                    if let p = up.pick(context, loop: 0) {
                        blackHole(p.address)
                        up.release(p)
                    }
                    i &+= 1
                }
            }
        }
    }

    let name = "api.bench"
    let ips = (0..<10_000).map { address($0 + 1) }
    for algorithm in UpstreamSettings.Algorithm.allCases {
        let up = UpstreamBalancer(name: "bench", settings: UpstreamSettings(algorithm: algorithm),
                                  targets: [TargetSpec(host: name, port: 80)], loops: 2, seed: 7, now: origin)
        var generation: UInt64 = 0
        Benchmark("Rebuild \(algorithm.rawValue) 10000 addresses", configuration: rebuildConfiguration) { benchmark in
            for _ in benchmark.scaledIterations {
                generation += 1
                let snapshot = NameSnapshot(name: name, content: .addresses(ips), status: .fresh, generation: generation,
                                            refreshedAt: origin, nextRefresh: origin + .seconds(30), ttl: 30)
                up.update(snapshot: snapshot, now: origin)
                blackHole(up.ring.generation)
            }
        }
    }

    let ejecting = upstream(.roundRobin, size: 10_000)
    Benchmark("Eject and restore one of 10000 addresses", configuration: rebuildConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            ejecting.eject(.init(ip: address(1), port: 80), until: origin + .seconds(30), now: origin)
            ejecting.restore(.init(ip: address(1), port: 80), now: origin)
        }
    }
}
