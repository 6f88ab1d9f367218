import DNSWire
import TestSupport
@testable import Balancer

/// The one clock read of the suite: an arbitrary origin. Every other instant is this plus an offset,
/// so behaviour depends only on the offsets.
let origin = ContinuousClock.now

func at(_ seconds: Double) -> ContinuousClock.Instant {
    origin + .milliseconds(Int64(seconds * 1000))
}

func ip(_ text: String) -> IPAddress {
    guard let ip = IPAddress(text) else { fatalError("bad test address \(text)") }
    return ip
}

func addr(_ text: String, _ port: UInt16 = 80) -> Address {
    Address(ip: ip(text), port: port)
}

func v4(_ i: Int, port: UInt16 = 80) -> Address {
    Address(ip: .v4(0x0A00_0000 | UInt32(i)), port: port)
}

func addressSnapshot(_ name: String, _ ips: [String], generation: UInt64 = 1) -> NameSnapshot {
    NameSnapshot(name: name, content: .addresses(ips.map(ip).sorted()), status: .fresh,
                 generation: generation, refreshedAt: origin, nextRefresh: at(30), ttl: 30)
}

func serviceSnapshot(_ name: String, _ records: [ServiceRecord], generation: UInt64 = 1) -> NameSnapshot {
    NameSnapshot(name: name, content: .services(records.sorted()), status: .fresh,
                 generation: generation, refreshedAt: origin, nextRefresh: at(30), ttl: 30)
}

func srv(_ priority: UInt16, _ weight: UInt16, _ port: UInt16, _ target: String, _ ips: [String]) -> ServiceRecord {
    ServiceRecord(priority: priority, weight: weight, port: port, target: target, addresses: ips.map(ip))
}

func balancer(_ algorithm: UpstreamSettings.Algorithm = .roundRobin, targets: [TargetSpec],
              snapshots: [NameSnapshot] = [], loops: Int = 1, seed: UInt64 = 42) -> UpstreamBalancer {
    UpstreamBalancer(name: "up", settings: UpstreamSettings(algorithm: algorithm), targets: targets,
                     snapshots: snapshots, loops: loops, seed: seed, now: origin)
}

/// `n` IP targets 10.0.0.1... with the given weights (default 100).
func ipTargets(_ weights: [UInt16]) -> [TargetSpec] {
    weights.enumerated().map { TargetSpec(host: v4($0.offset + 1).ip.description, port: 80, weight: $0.element) }
}

extension UpstreamBalancer {
    /// Picks `count` times, finishing each pick at once with a success, and counts per address.
    func tally(_ count: Int, loop: Int = 0, context: PickContext = PickContext()) -> [Address: Int] {
        var out: [Address: Int] = [:]
        for _ in 0..<count {
            guard let p = pick(context, loop: loop) else { continue }
            out[p.address, default: 0] += 1
            release(p)
        }
        return out
    }

    func sequence(_ count: Int, loop: Int = 0) -> [Address] {
        (0..<count).compactMap { _ in
            let p = pick(PickContext(), loop: loop)
            if let p { release(p) }
            return p?.address
        }
    }
}

