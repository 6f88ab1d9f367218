import Foundation
import NIOConcurrencyHelpers

/// A real BIND9 server on a loopback port, serving one zone that tests change with dynamic
/// updates. Each instance has its own directory, port and TSIG key, so tests run in parallel.
///
/// ```swift
/// let dns = try TestDNS.start()
/// defer { dns.shutdown() }
/// try dns.register("_http._tcp.api.svc.test", "SRV", "10 5 9001 backend1.svc.test.", ttl: 2)
/// ```
/// `named` is also stopped when the test process exits, even if `shutdown()` was never reached.
public final class TestDNS: Sendable {
    /// The UDP and TCP port on 127.0.0.1; it stays the same across `stopServer`/`restartServer`.
    public let port: Int
    /// The instance directory: configuration, zone file, journal and `named.log`.
    public let dir: String
    /// The zone served, without the trailing dot (`svc.test`).
    public let zone: String

    private let scripts: TestDNSScripts
    private let isShutDown = NIOLockedValueBox(false)

    /// `host:port` of the server, as resolvers take it.
    public var server: String { "127.0.0.1:\(port)" }

    /// The instance's TSIG key, as `tsig-keygen` wrote it (it signs updates, and NOTIFY with `notifyKey`).
    public var keyFile: String { dir + "/key.conf" }

    private init(port: Int, dir: String, zone: String, scripts: TestDNSScripts) {
        self.port = port
        self.dir = dir
        self.zone = zone
        self.scripts = scripts
    }

    deinit {
        shutdown()
    }

    /// Starts a fresh instance in a new temporary directory and waits until it answers.
    /// - Parameter demo: also add the quickstart's records (`backend1...3` and `_http._tcp.demo`).
    /// - Parameter notify: `HOST:PORT` to send a DNS NOTIFY to whenever the zone changes (BIND's `also-notify`),
    ///   signed with the instance's key (`keyFile`) when `notifyKey` is set.
    public static func start(zone: String = "svc.test", demo: Bool = false, notify: String? = nil,
                             notifyKey: Bool = false) throws -> TestDNS {
        let scripts = try TestDNSScripts.locate()
        var arguments = ["--zone", zone, "--owner", String(ProcessInfo.processInfo.processIdentifier)]
        if demo { arguments.append("--demo") }
        if let notify { arguments += ["--notify", notify] }
        if notifyKey { arguments.append("--notify-key") }
        let output = try scripts.run("start", arguments)
        let values = Self.parseEnv(output)
        guard let portText = values["TESTDNS_PORT"], let port = Int(portText),
              let dir = values["TESTDNS_DIR"], let servedZone = values["TESTDNS_ZONE"]
        else {
            throw TestDNSError("testdns/start printed no TESTDNS_PORT/DIR/ZONE lines", stderr: output)
        }
        return TestDNS(port: port, dir: dir, zone: servedZone, scripts: scripts)
    }

    /// Adds one record. Names not ending in "." and outside the zone are taken as relative to it.
    /// - Parameter ttl: seconds; nil takes the zone default (5).
    public func register(_ name: String, _ type: String, _ data: String, ttl: Int? = nil) throws {
        var arguments = [dir, name, type, data]
        if let ttl { arguments += ["--ttl", String(ttl)] }
        try scripts.run("register", arguments)
    }

    /// Removes every record of `name`, only its `type` records, or the one record `type data`.
    public func deregister(_ name: String, _ type: String? = nil, _ data: String? = nil) throws {
        var arguments = [dir, name]
        if let type {
            arguments.append(type)
            if let data { arguments.append(data) }
        }
        try scripts.run("deregister", arguments)
    }

    /// Sends many nsupdate commands at once ("update add NAME TTL IN TYPE DATA", "update delete
    /// NAME ..."); up to 500 of them travel in one update message that is applied all or nothing.
    public func registerBatch(lines: [String]) throws {
        let file = URL(fileURLWithPath: dir).appendingPathComponent("batch-\(UUID().uuidString).txt")
        try lines.joined(separator: "\n").appending("\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try scripts.run("register-batch", [dir, file.path])
    }

    /// Stops `named`, as in a DNS outage: queries to `server` are refused until `restartServer()`.
    public func stopServer() throws {
        try scripts.run("stop", [dir])
    }

    /// Starts `named` again on the same port, with every update made so far (kept in the journal).
    public func restartServer() throws {
        try scripts.run("start", ["--dir", dir, "--owner", String(ProcessInfo.processInfo.processIdentifier)])
    }

    /// Stops `named` and removes the instance directory. Safe to call more than once.
    public func shutdown() {
        let first = isShutDown.withLockedValue { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = try? scripts.run("stop", ["--remove", dir])
    }

    /// Asks the server with `dig`, as an independent client would. Over UDP a truncated answer is
    /// returned as is (flag `tc`), not retried over TCP.
    public func lookup(_ name: String, _ type: String, tcp: Bool = false) throws -> TestDNSAnswer {
        var arguments = ["+time=2", "+tries=1", "-p", String(port), "@127.0.0.1", name, type,
                         "+noall", "+comments", "+answer", "+authority", "+additional", "+nottlunits"]
        arguments.append(tcp ? "+tcp" : "+ignore")
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run("dig", arguments, timeout: .seconds(30))
        } catch {
            throw TestDNSError("\(error) (dig comes with: apt-get install -y bind9-dnsutils)")
        }
        guard result.status == 0 else {
            throw TestDNSError("dig \(name) \(type) at \(server) failed", exitStatus: result.status,
                               stderr: result.stderr + result.stdout)
        }
        return TestDNSAnswer(digOutput: result.stdout)
    }

    private static func parseEnv(_ output: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("TESTDNS_"), let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }
}
