import Foundation
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Issue 13: `kill -9` of a node during a burst of Admin writes loses no acknowledged write. Three
/// `switchyard start` processes share one real PostgreSQL 15; writers POST targets and services to A and B,
/// A is SIGKILLed in the middle, restarted from the same cache file afterwards, and every write answered 201
/// must then be on A, B and C, whose lists must be identical.
@Suite("cluster: kill -9 of a node during a burst of writes", .serialized, .timeLimit(.minutes(3)))
struct ClusterCrashTests {
    static let upstream = "burst"

    @Test("kill -9 of A during a burst of writes to A and B: every write answered 201 is on A (restarted), B and C; their lists are identical")
    func killDuringBurstLosesNoAcknowledgedWrite() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let server = try PostgresServer.start()
        defer { server.stop() }
        try server.createDatabase("crash")
        let database = server.url(database: "crash")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_DATABASE"] = database
        let migrate = try BackgroundProcess(ClusterTests.binary, ["migrations", "up", "--database", database],
                                            environment: environment)
        try #require(migrate.waitForExit(timeout: .seconds(20)) == 0, "\(migrate.stderr)")

        let a = try ClusterTests.startNode("a", database: database, directory: directory, dns: dns.server)
        let b = try ClusterTests.startNode("b", database: database, directory: directory, dns: dns.server)
        let c = try ClusterTests.startNode("c", database: database, directory: directory, dns: dns.server)
        defer { a.process.stop(); b.process.stop(); c.process.stop() }

        let created = ConcurrentApplyTests.send(a.admin, "POST", "/upstreams", json: #"{"name": "\#(Self.upstream)"}"#)
        try #require(created?.status == 201, "\(created.map { "\($0.status) \($0.text)" } ?? "no answer")")

        // The burst: writers on threads of their own (the sends block), bounded in time and count.
        let burst = Burst()
        let writers = 3
        let ports = (a: a.admin, b: b.admin)
        let writing = Task.detached {
            await ConcurrentApplyTests.onThreads(writers) { _ in
                let deadline = ContinuousClock.now + .seconds(10)
                var sent = 0
                while ContinuousClock.now < deadline, sent < 1_500 {
                    sent += 1
                    let sequence = burst.next.add(1, ordering: .relaxed).newValue
                    // Two writes in three to A, one to B.
                    let (node, port) = sequence % 3 == 2 ? ("B", ports.b) : ("A", ports.a)
                    let write: Write
                    if sequence % 4 == 0 {
                        let name = "crash-\(sequence)"
                        write = Write(kind: .service, key: name, node: node)
                        burst.record(write, ConcurrentApplyTests.send(
                            port, "POST", "/services", json: #"{"name": "\#(name)", "url": "http://127.0.0.1:9"}"#))
                    } else {
                        let target = "127.0.0.1:\(1_000 + sequence)"
                        write = Write(kind: .target, key: target, node: node)
                        burst.record(write, ConcurrentApplyTests.send(
                            port, "POST", "/upstreams/\(Self.upstream)/targets",
                            json: #"{"target": "\#(target)", "weight": 10}"#))
                    }
                    usleep(5_000)
                }
            }
        }

        // kill -9 of A, by its PID, about 1.5 s into the burst.
        try await Task.sleep(for: .milliseconds(1_500))
        let beforeKill = burst.counts
        a.process.signal(SIGKILL)
        let reaped = a.process.waitForExit(timeout: .seconds(10))
        #expect(reaped != nil, "A still ran after SIGKILL")
        await writing.value
        let counts = burst.counts
        print("cluster crash: at the kill \(beforeKill.acknowledged) writes answered 201; after the burst "
              + "\(counts.acknowledged) answered 201 (\(counts.acknowledgedBy["A"] ?? 0) by A, "
              + "\(counts.acknowledgedBy["B"] ?? 0) by B), \(counts.unanswered) unanswered, "
              + "\(counts.otherStatus.count) answered another status \(counts.otherStatus.prefix(5))")

        // A again, from the same cache file.
        let restarted = try ClusterTests.startNode("a", database: database, directory: directory, dns: dns.server)
        defer { restarted.process.stop() }

        let acknowledged = burst.acknowledged
        let nodes = [("A", restarted), ("B", b), ("C", c)]
        var last: [String: Entities] = [:]
        let converged = await waitFor(.seconds(10), every: .milliseconds(100)) {
            for (name, node) in nodes {
                guard let entities = Self.entities(node.admin) else { return false }
                last[name] = entities
            }
            let lists = nodes.compactMap { last[$0.0] }
            guard lists.count == nodes.count, let first = lists.first else { return false }
            return lists.allSatisfy { $0 == first && $0.contains(acknowledged) }
        }
        for (name, node) in nodes {
            guard let entities = last[name] else {
                Issue.record("node \(name) never listed its entities\n\(node.process.stderr.suffix(3000))")
                continue
            }
            let missing = acknowledged.filter { !entities.contains($0) }
            #expect(missing.isEmpty, """
                node \(name) lacks \(missing.count) of the \(acknowledged.count) writes answered 201: \
                \(missing.prefix(10).map(\.description))
                \(name) log:\n\(node.process.stderr.suffix(3000))
                A (killed) log:\n\(a.process.stderr.suffix(3000))
                """)
        }
        if let onA = last["A"], let onB = last["B"], let onC = last["C"] {
            #expect(onA == onB && onB == onC, """
                the nodes' lists differ: A \(onA.targets.count) targets \(onA.services.count) services, \
                B \(onB.targets.count)/\(onB.services.count), C \(onC.targets.count)/\(onC.services.count); \
                only on A \(onA.difference(onB).prefix(5)), only on B \(onB.difference(onA).prefix(5)), \
                only on C \(onC.difference(onB).prefix(5))
                """)
        }
        #expect(converged != nil, "the nodes did not converge within 10 s")
        #expect(counts.acknowledged > 20, "only \(counts.acknowledged) writes were answered 201")
        #expect((counts.acknowledgedBy["A"] ?? 0) > 0, "A answered no write before it was killed")
        #expect((counts.acknowledgedBy["B"] ?? 0) > 0, "B answered no write")
        if let onB = last["B"] {
            print("cluster crash: \(onB.targets.count) targets and \(onB.services.count) services on every node "
                  + "(\(acknowledged.count) answered 201, \(counts.unanswered) unanswered; converged after "
                  + "\(converged.map { "\($0)" } ?? "never"))")
        }
    }

    /// The burst's targets and services as a node's Admin API lists them (every page); nil when a page failed.
    static func entities(_ port: Int) -> Entities? {
        guard let targets = list(port, "/upstreams/\(upstream)/targets?size=1000", key: "target"),
              let services = list(port, "/services?size=1000", key: "name") else { return nil }
        return Entities(targets: Set(targets), services: Set(services))
    }

    /// One `key` of every entity of a list, following `next` (at most 50 pages).
    static func list(_ port: Int, _ path: String, key: String) -> [String]? {
        var values: [String] = []
        var page: String? = path
        var pages = 0
        while let current = page {
            pages += 1
            guard pages <= 50,
                  let response = ConcurrentApplyTests.send(port, "GET", current), response.status == 200,
                  let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                  let data = object["data"] as? [[String: Any]] else { return nil }
            values += data.compactMap { $0[key] as? String }
            page = object["next"] as? String
        }
        return values
    }
}

extension ClusterCrashTests {
    /// What a node lists.
    struct Entities: Equatable {
        var targets: Set<String>
        var services: Set<String>

        func contains(_ write: Write) -> Bool {
            write.kind == .target ? targets.contains(write.key) : services.contains(write.key)
        }

        func contains(_ writes: [Write]) -> Bool { writes.allSatisfy(contains) }

        func difference(_ other: Entities) -> [String] {
            targets.subtracting(other.targets).sorted() + services.subtracting(other.services).sorted().map { "service \($0)" }
        }
    }

    /// One write of the burst.
    struct Write: Sendable, CustomStringConvertible {
        enum Kind: Sendable { case target, service }
        let kind: Kind
        let key: String
        /// "A" or "B", the node it was sent to.
        let node: String

        var description: String { "\(kind == .target ? "target" : "service") \(key) via \(node)" }
    }
}

/// The burst's writes, by outcome.
private final class Burst: Sendable {
    typealias Write = ClusterCrashTests.Write

    let next = Atomic<Int>(0)
    private let outcomes = Mutex((acknowledged: [Write](), unanswered: [Write](), other: [String]()))

    func record(_ write: Write, _ response: TestResponse?) {
        outcomes.withLock { outcomes in
            guard let response else { outcomes.unanswered.append(write); return }
            if response.status == 201 {
                outcomes.acknowledged.append(write)
            } else {
                outcomes.other.append("\(write): \(response.status) \(response.text.prefix(200))")
            }
        }
    }

    var acknowledged: [Write] { outcomes.withLock { $0.acknowledged } }

    var counts: (acknowledged: Int, acknowledgedBy: [String: Int], unanswered: Int, otherStatus: [String]) {
        outcomes.withLock { outcomes in
            (outcomes.acknowledged.count,
             Dictionary(grouping: outcomes.acknowledged, by: \.node).mapValues(\.count),
             outcomes.unanswered.count, outcomes.other)
        }
    }
}
