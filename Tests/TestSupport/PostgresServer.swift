import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A real PostgreSQL server of this test process alone: its own cluster in a temporary directory, its own
/// loopback port, no password (`trust`), no fsync. The Postgres store is tested against the server it runs
/// against in production rather than a fake, and a private server keeps concurrent test runs from seeing each
/// other's databases. Only this server's postmaster is ever signalled, by its PID; `stop()` (or `deinit`)
/// removes the directory.
public final class PostgresServer: Sendable {
    public let host = "127.0.0.1"
    public let user = "switchyard"
    public let port: Int
    /// The temporary directory holding `data/` (the cluster), `log` (the server's log) and the Unix socket.
    public let directory: String

    private let binaries: Binaries
    private let launcher: Launcher
    private let state: Mutex<State>

    private struct State {
        var pid: pid_t
        var running = true
        var removed = false
    }

    /// The postmaster's PID; `startAgain()` starts a new postmaster, so this changes.
    public var pid: pid_t { state.withLock { $0.pid } }

    private init(port: Int, directory: String, binaries: Binaries, launcher: Launcher, pid: pid_t) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.launcher = launcher
        state = Mutex(State(pid: pid))
    }

    deinit {
        stop()
    }

    /// Creates a cluster in a fresh temporary directory and starts it on a free loopback port; up to three
    /// ports, because another process may bind a port between the moment it was free and the server's bind.
    public static func start() throws -> PostgresServer {
        let binaries = try Binaries.find()
        let launcher = try Launcher.forThisProcess()
        reapOrphans()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(directoryPrefix)\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            // Who started it: a later test process stops the server if this one dies without its exit handler.
            let me = getpid()
            try "\(me) \(processStart(me) ?? "")".write(toFile: directory + "/owner", atomically: true, encoding: .utf8)
            try launcher.handOver(directory)
            try launcher.check(binaries.initdb, ["-D", directory + "/data", "-U", "switchyard", "-A", "trust",
                                                 "--no-sync", "-E", "UTF8"], timeout: .seconds(120))
            var failures: [String] = []
            for _ in 1...3 {
                let port = try freeTCPPort()
                do {
                    let pid = try startPostmaster(binaries: binaries, launcher: launcher, directory: directory, port: port)
                    return PostgresServer(port: port, directory: directory, binaries: binaries, launcher: launcher, pid: pid)
                } catch {
                    failures.append("\(error)")
                }
            }
            throw PostgresServerError("PostgreSQL did not start on any of 3 ports", stderr: failures.joined(separator: "\n"))
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// One server for the whole test process: the first caller starts it (others wait on the lock), an exit
    /// handler stops it, and suites keep apart by database name. A failed start is remembered, so each suite
    /// reports the same error instead of spending seconds on an attempt of its own.
    public static func shared() throws -> PostgresServer {
        try sharedServer.withLock { shared in
            switch shared {
            case .running(let server):
                return server
            case .failed(let error):
                throw error
            case .stopped:
                throw PostgresServerError("the shared PostgreSQL server was already stopped at exit")
            case .notStarted:
                do {
                    let server = try start()
                    shared = .running(server)
                    // No deinit runs for a global at exit; this closure captures nothing, as a C function pointer must.
                    atexit {
                        let running: PostgresServer? = sharedServer.withLock { entry in
                            guard case .running(let started) = entry else { return nil }
                            entry = .stopped
                            return started
                        }
                        running?.stop()
                    }
                    return server
                } catch {
                    let failure = error as? PostgresServerError ?? PostgresServerError("\(error)")
                    shared = .failed(failure)
                    throw failure
                }
            }
        }
    }

    public func url(database: String) -> String {
        "postgres://\(user)@\(host):\(port)/\(database)"
    }

    public func createDatabase(_ name: String) throws {
        try Self.validate(name)
        _ = try psql("CREATE DATABASE \"\(name)\"", database: "postgres")
    }

    /// `WITH (FORCE)` ends sessions still connected (a pool a test did not shut down), which would otherwise make
    /// the drop fail; `IF EXISTS` lets a test's cleanup drop whatever it got as far as creating.
    public func dropDatabase(_ name: String) throws {
        try Self.validate(name)
        _ = try psql("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)", database: "postgres")
    }

    /// Runs `sql` in `database` as the superuser `switchyard` and returns psql's unaligned, tuples-only output
    /// (`-At`: a row a line, columns split by `|`) without its final newline. `-X` skips any ~/.psqlrc, which
    /// could change that output.
    public func psql(_ sql: String, database: String) throws -> String {
        try Self.validate(database)
        let arguments = ["-X", "-h", host, "-p", String(port), "-U", user, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]
        let result = try ChildProcess.run(binaries.psql, arguments, timeout: .seconds(60))
        guard result.status == 0 else {
            throw PostgresServerError("psql -d \(database) -c '\(sql)' failed", exitStatus: result.status, stderr: result.stderr)
        }
        var output = result.stdout
        while output.hasSuffix("\n") { output.removeLast() }
        return output
    }

    /// Fast shutdown (SIGINT: sessions are ended, not waited for), then SIGKILL if the postmaster is still there
    /// after 10 s; returns once it is gone. For a test of a database that goes away; `startAgain()` brings it back.
    public func stopServer() {
        state.withLock { current in
            guard current.running else { return }
            Self.terminate(current.pid)
            current.running = false
        }
    }

    /// Starts the server again on the same port and data directory; one still running is stopped first.
    public func startAgain() throws {
        try state.withLock { current in
            guard !current.removed else {
                throw PostgresServerError("the PostgreSQL server in \(directory) was stopped and its directory removed")
            }
            if current.running {
                Self.terminate(current.pid)
                current.running = false
            }
            current.pid = try Self.startPostmaster(binaries: binaries, launcher: launcher, directory: directory, port: port)
            current.running = true
        }
    }

    /// Stops the server and removes its directory; it may be called again (by `deinit`, by the exit handler).
    public func stop() {
        state.withLock { current in
            if current.running {
                Self.terminate(current.pid)
                current.running = false
            }
            if !current.removed {
                try? FileManager.default.removeItem(atPath: directory)
                current.removed = true
            }
        }
    }

    static let directoryPrefix = "switchyard-pg-"

    /// Stops the servers of test processes that died without running their exit handler (a crash, a SIGKILL),
    /// by the postmaster PID their own data directory names, and removes their directories. A directory whose
    /// owner still runs (same PID and start time) is left alone, and so is one without an owner file.
    public static func reapOrphans() {
        let temporary = FileManager.default.temporaryDirectory.path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix(directoryPrefix) {
            let directory = temporary + "/" + name
            guard let owner = try? String(contentsOfFile: directory + "/owner", encoding: .utf8) else { continue }
            let fields = owner.split(separator: " ").map(String.init)
            guard fields.count == 2, let pid = pid_t(fields[0]) else { continue }
            if processStart(pid) == fields[1] { continue }
            let data = directory + "/data"
            if let postmaster = postmasterPID(data), isPostmaster(postmaster, of: data) { terminate(postmaster) }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// When `pid` started (field 22 of `/proc/PID/stat`), so a PID reused by another process is not taken for
    /// the owner; nil when there is no such process.
    static func processStart(_ pid: pid_t) -> String? {
        guard let text = readProcFile("/proc/\(pid)/stat"), let name = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: name)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// `pg_ctl start -w` returns once the server accepts connections and leaves the postmaster behind in a
    /// session of its own, its output going to `log` (`-l`), so it holds none of the files `ChildProcess` reads.
    private static func startPostmaster(binaries: Binaries, launcher: Launcher, directory: String, port: Int) throws -> pid_t {
        let data = directory + "/data"
        let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        let result = try launcher.run(binaries.pgCtl, ["-D", data, "-l", directory + "/log", "-w", "-t", "30",
                                                       "-o", options, "start"], timeout: .seconds(60))
        if result.status == 0, let pid = postmasterPID(data) {
            return pid
        }
        // A postmaster pg_ctl gave up waiting for would hold the data directory against the next attempt.
        if let pid = postmasterPID(data), isPostmaster(pid, of: data) {
            terminate(pid)
        }
        throw PostgresServerError("pg_ctl start on port \(port) failed", exitStatus: result.status,
                                  stderr: result.stderr + "\n" + logTail(directory))
    }

    /// The first line of `postmaster.pid`, which the postmaster writes and removes on a clean shutdown.
    private static func postmasterPID(_ data: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8),
              let line = text.split(separator: "\n").first,
              let pid = pid_t(line.trimmingCharacters(in: .whitespaces)) else { return nil }
        return pid > 1 ? pid : nil
    }

    /// Whether `pid` is a postgres started on `data`: a PID read from a stale `postmaster.pid` (left by a
    /// SIGKILL) may since belong to some other process, which must not be signalled.
    private static func isPostmaster(_ pid: pid_t, of data: String) -> Bool {
        guard let commandLine = readProcFile("/proc/\(pid)/cmdline") else { return false }
        return commandLine.contains(data)
    }

    private static func terminate(_ pid: pid_t) {
        // kill(0, …) and kill(-1, …) would signal a process group or every process.
        guard pid > 1 else { return }
        kill(pid, SIGINT)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while !isGone(pid) {
            if clock.now >= deadline {
                kill(pid, SIGKILL)
                let killed = clock.now.advanced(by: .seconds(5))
                while !isGone(pid) && clock.now < killed { usleep(10_000) }
                return
            }
            usleep(10_000)
        }
    }

    /// No such process, or a zombie: the postmaster is not this process's child (pg_ctl forked it), so it is
    /// reaped by init, and until then `kill(pid, 0)` still succeeds on it.
    private static func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) == -1 && errno == ESRCH { return true }
        guard let text = readProcFile("/proc/\(pid)/stat"), let name = text.lastIndex(of: ")") else { return false }
        return text[text.index(after: name)...].split(separator: " ").first == "Z"
    }

    private static func logTail(_ directory: String) -> String {
        guard let log = try? String(contentsOfFile: directory + "/log", encoding: .utf8) else { return "" }
        return log.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// Names are spliced into SQL between double quotes and passed to psql's `-d`, which reads a name with `=`
    /// as a connection string; so only names that need no quoting pass (63 bytes is PostgreSQL's limit).
    private static func validate(_ name: String) throws {
        let plain = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
            default: false
            }
        }
        guard plain, !name.isEmpty, name.utf8.count <= 63 else {
            throw PostgresServerError("database name \"\(name)\" is not [a-z0-9_]+ of at most 63 characters")
        }
    }

    private static func freeTCPPort() throws -> Int {
        try freeLoopbackPort(Int32(SOCK_STREAM.rawValue))
    }

    /// initdb and pg_ctl of one installation, and the psql beside them when there is one (Debian's /usr/bin/psql
    /// is a Perl wrapper that picks a version; the binary itself starts faster).
    private struct Binaries: Sendable {
        let initdb: String
        let pgCtl: String
        let psql: String

        /// Debian keeps server binaries out of PATH, in /usr/lib/postgresql/<major>/bin, and the newest major
        /// there wins; a /usr/local/bin link or wrapper, or another system, is found through PATH.
        static func find() throws -> Binaries {
            let root = "/usr/lib/postgresql"
            let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { Int($0) }
            for major in majors.sorted(by: >) {
                let bin = "\(root)/\(major)/bin"
                if isExecutable(bin + "/initdb") && isExecutable(bin + "/pg_ctl") {
                    let psql = isExecutable(bin + "/psql") ? bin + "/psql" : "psql"
                    return Binaries(initdb: bin + "/initdb", pgCtl: bin + "/pg_ctl", psql: psql)
                }
            }
            if let initdb = lookUp("initdb"), let pgCtl = lookUp("pg_ctl") {
                return Binaries(initdb: initdb, pgCtl: pgCtl, psql: "psql")
            }
            throw PostgresServerError("PostgreSQL 15 server binaries not found: run scripts/install-deps --postgres")
        }
    }

    /// How initdb and pg_ctl run: as this process's user, or, since PostgreSQL refuses to run as root, as
    /// `postgres` through runuser (util-linux: no password, no PAM authentication for root) or else su.
    private struct Launcher: Sendable {
        enum Switch: Sendable {
            case direct
            case runuser(String)
            case su(String)
        }

        let through: Switch
        /// The `postgres` account when this process runs as root: the cluster's directory must be its.
        let postgres: (uid: uid_t, gid: gid_t)?

        static func forThisProcess() throws -> Launcher {
            guard getuid() == 0 else { return Launcher(through: .direct, postgres: nil) }
            guard let account = postgresAccount() else {
                throw PostgresServerError("PostgreSQL does not run as root and there is no postgres user to run it as: "
                                          + "run scripts/install-deps --postgres")
            }
            if let runuser = lookUp("runuser", alsoIn: ["/usr/sbin", "/sbin"]) {
                return Launcher(through: .runuser(runuser), postgres: account)
            }
            if let su = lookUp("su", alsoIn: ["/usr/bin", "/bin"]) {
                return Launcher(through: .su(su), postgres: account)
            }
            throw PostgresServerError("running as root, and neither runuser nor su is there to run PostgreSQL as postgres")
        }

        private static func postgresAccount() -> (uid: uid_t, gid: gid_t)? {
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            let size = 16_384
            var buffer = [CChar](repeating: 0, count: size)
            guard getpwnam_r("postgres", &entry, &buffer, size, &found) == 0, found != nil else { return nil }
            return (entry.pw_uid, entry.pw_gid)
        }

        /// The directory is still empty here, so its own owner is all there is to change; what initdb and the
        /// server create inside it is the postgres user's already.
        func handOver(_ directory: String) throws {
            guard let postgres else { return }
            guard chown(directory, postgres.uid, postgres.gid) == 0 else {
                throw PostgresServerError("chown postgres \(directory): \(String(cString: strerror(errno)))")
            }
        }

        func run(_ command: String, _ arguments: [String], timeout: Duration) throws -> ChildProcess.Result {
            switch through {
            case .direct:
                return try ChildProcess.run(command, arguments, timeout: timeout)
            case .runuser(let runuser):
                return try ChildProcess.run(runuser, ["-u", "postgres", "--", command] + arguments, timeout: timeout)
            case .su(let su):
                let line = ([command] + arguments).map(Self.shellQuoted).joined(separator: " ")
                return try ChildProcess.run(su, ["postgres", "-s", "/bin/sh", "-c", line], timeout: timeout)
            }
        }

        func check(_ command: String, _ arguments: [String], timeout: Duration) throws {
            let result = try run(command, arguments, timeout: timeout)
            guard result.status == 0 else {
                let commandLine = ([command] + arguments).joined(separator: " ")
                throw PostgresServerError("\(commandLine) failed", exitStatus: result.status, stderr: result.stderr)
            }
        }

        private static func shellQuoted(_ word: String) -> String {
            "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }
}

/// The server of `PostgresServer.shared()`. A global, because the exit handler that stops it is a C function
/// pointer and can capture nothing.
private let sharedServer = Mutex<SharedServer>(.notStarted)

private enum SharedServer: Sendable {
    case notStarted
    case running(PostgresServer)
    case failed(PostgresServerError)
    case stopped
}

private func isExecutable(_ path: String) -> Bool {
    access(path, X_OK) == 0
}

/// The first executable `name` in PATH's absolute directories, then in `extra` (root's sbin directories are
/// not always in a test runner's PATH).
private func lookUp(_ name: String, alsoIn extra: [String] = []) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    let directories = path.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") } + extra
    return directories.map { $0 + "/" + name }.first(where: isExecutable)
}

/// A /proc file's text. They report size 0, so they are read to the end rather than by their size.
private func readProcFile(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    guard let data = try? handle.readToEnd() else { return nil }
    return String(decoding: data, as: UTF8.self)
}
