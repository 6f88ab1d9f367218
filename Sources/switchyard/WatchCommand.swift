import ArgumentParser
import Balancer
import Discovery
import Foundation
import UnixSignals

/// `switchyard watch NAME...`: prints each snapshot change as it happens.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch names and print every change of their records or status."
    )

    @Argument(help: "Names to watch (SRV names start with an underscore).")
    var names: [String] = []

    @Option(help: "Read more names from this file, one per line.")
    var namesFile: String?

    @Option(help: "Stop after this many seconds (default: run until interrupted).")
    var duration: Double?

    @Flag(help: "Do not print snapshots (with --summary, for load measurements).")
    var quiet = false

    @Flag(help: "Print query counters and the process's CPU time at the end.")
    var summary = false

    @Option(help: "Minimum refresh interval in seconds (TTL floor).")
    var minTTL: Double = 1

    @Option(help: "Maximum refresh interval in seconds (TTL ceiling).")
    var maxTTL: Double = 300

    @Option(help: "Seconds the last good answer stays in force while DNS fails.")
    var staleTTL: Double = 3600

    @Option(help: "Seconds the records of a name that had records are held after NXDOMAIN/NODATA.")
    var notFoundHold: Double = 30

    @OptionGroup var dns: DNSOptions

    func run() async throws {
        var all = names
        if let namesFile {
            let text = try String(contentsOfFile: namesFile, encoding: .utf8)
            all += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard !all.isEmpty else { throw ValidationError("give at least one name to watch") }
        var policy = RefreshPolicy()
        policy.minTTL = .milliseconds(Int64(minTTL * 1000))
        policy.maxTTL = .milliseconds(Int64(maxTTL * 1000))
        policy.staleTTL = .milliseconds(Int64(staleTTL * 1000))
        policy.negativeHold = .milliseconds(Int64(notFoundHold * 1000))
        let problems = policy.validate()
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "; ")) }

        let resolver: DNSResolver
        do { resolver = try DNSResolver(configuration: try dns.resolverConfiguration()) }
        catch let error as DiscoveryError { throw ValidationError(error.message) }
        let watcher = DNSWatcher(resolver: resolver, policy: policy, families: try dns.addressFamilies())
        let updates = watcher.updates()
        let started = ContinuousClock.now
        let cpuBefore = ProcessCPU.seconds()
        for name in all { watcher.watch(name) }

        let printer = Task {
            for await snapshot in updates where !quiet {
                emit(SnapshotFormatter.line(snapshot, since: started))
            }
        }
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
        } else {
            for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { break }
        }
        let elapsed = ContinuousClock.now - started
        watcher.shutdown()
        printer.cancel()
        let counters = resolver.counters
        resolver.shutdown()
        if summary {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let cpu = ProcessCPU.seconds() - cpuBefore
            emit(String(format: "names=%d seconds=%.1f queries=%d answers=%d negative=%d failures=%d qps=%.1f cpu_seconds=%.2f cpu_share=%.1f%%",
                         all.count, seconds, counters.queries, counters.answers, counters.negative, counters.failures,
                         Double(counters.queries) / seconds, cpu, 100 * cpu / seconds))
        }
    }
}

/// One line per snapshot, readable and greppable.
enum SnapshotFormatter {
    static func line(_ snapshot: NameSnapshot, since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let t = String(format: "%7.2f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let records: String
        switch snapshot.content {
        case .empty:
            records = "(none)"
        case .addresses(let addresses):
            records = addresses.map(\.description).joined(separator: " ")
        case .services(let services):
            records = services.map { s in
                "\(s.priority)/\(s.weight) \(s.target):\(s.port)=[\(s.addresses.map(\.description).joined(separator: ","))]"
            }.joined(separator: " ")
        }
        let ttl = snapshot.ttl.map { " ttl=\($0)" } ?? ""
        return "\(t)s \(snapshot.name) gen=\(snapshot.generation) \(describe(snapshot.status))\(ttl) \(records)"
    }

    static func describe(_ status: NameSnapshot.Status) -> String {
        switch status {
        case .fresh: return "fresh"
        case .stale(let error, _, _): return "stale(\(error))"
        case .negativeHold(let reason, _, let until):
            let left = until - ContinuousClock.now
            return "held(\(reason); \(left.components.seconds)s left)"
        case .failed(let error): return "failed(\(error))"
        }
    }
}
