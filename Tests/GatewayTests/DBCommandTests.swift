import Foundation
import Testing
import TestSupport

/// `switchyard db backup|restore` as an operator runs them: a single node's SQLite backed up, restored into a
/// cluster's PostgreSQL, and a node on that database serving the restored configuration and accepting the
/// restored token.
@Suite("db backup and restore", .serialized, .timeLimit(.minutes(2)))
struct DBCommandTests {
    static var binary: String { ConcurrentApplyTests.binary }

    static var examples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/examples")
    }

    /// Runs a command to its end; its exit status and output.
    static func run(_ arguments: [String]) throws -> (status: Int32?, stdout: String, stderr: String) {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        let process = try BackgroundProcess(binary, arguments, environment: environment)
        let status = process.waitForExit(timeout: .seconds(30))
        return (status, process.stdout, process.stderr)
    }

    @Test func aSQLiteBackupRestoresIntoPostgreSQLAndANodeServesIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = directory.appendingPathComponent("single.db").path
        let backup = directory.appendingPathComponent("backup.json").path

        let imported = try Self.run(["config", "import", Self.examples.appendingPathComponent("kong.yaml").path,
                                     "--database", sqlite])
        #expect(imported.status == 0, "\(imported.stderr)")
        let created = try Self.run(["admin-token", "create", "ops", "--database", sqlite])
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(created.status == 0 && token.hasPrefix("syd_"), "\(created.stderr)")

        let written = try Self.run(["db", "backup", backup, "--database", sqlite])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stderr.contains("1 admin tokens written"), "\(written.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: backup)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "a backup holds credentials")
        let text = try String(contentsOfFile: backup, encoding: .utf8)
        #expect(!text.contains(token), "the token's secret is never in a backup")
        #expect(text.contains("\"format\" : \"switchyard-backup\""), "\(text.prefix(300))")

        // A damaged backup is refused whole, with every problem listed, and the database keeps what it had.
        let server = try PostgresServer.shared()
        let name = "db_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try server.createDatabase(name)
        defer { try? server.dropDatabase(name) }
        let database = server.url(database: name)
        #expect(try Self.run(["migrations", "up", "--database", database]).status == 0)
        let damaged = directory.appendingPathComponent("damaged.json").path
        try text.replacingOccurrences(of: "\"role\" : \"admin\"", with: "\"role\" : \"root\"")
            .write(toFile: damaged, atomically: true, encoding: .utf8)
        let refused = try Self.run(["db", "restore", damaged, "--database", database])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("nothing changed") && refused.stderr.contains("role \"root\""), "\(refused.stderr)")
        let dryRun = try Self.run(["db", "restore", backup, "--dry-run"])
        #expect(dryRun.status == 0 && dryRun.stdout.contains("valid backup"), "\(dryRun.stdout)\(dryRun.stderr)")
        let empty = try Self.run(["config", "export", "--format", "json", "--database", database])
        #expect(empty.status == 0 && !empty.stdout.contains("orders"), "the refused restore wrote nothing")

        let restored = try Self.run(["db", "restore", backup, "--database", database])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("restored"), "\(restored.stdout)")
        let listed = try Self.run(["admin-token", "list", "--database", database])
        #expect(listed.stdout.contains("ops\tadmin"), "\(listed.stdout)\(listed.stderr)")

        // A backup of the restored PostgreSQL holds the same configuration and tokens.
        let again = try Self.run(["db", "backup", "-", "--database", database])
        func comparable(_ text: String) throws -> NSDictionary {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            for key in ["taken_at", "database", "configuration_version"] { object[key] = nil }
            return object as NSDictionary
        }
        #expect(try comparable(again.stdout) == comparable(text))

        // A node on the restored database serves the restored configuration, and its Admin API (which needs a
        // token once any exists) accepts the restored token and nothing else.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_DATABASE"] = database
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:0"
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:0"
        environment["SWITCHYARD_CONTROL_SOCKET"] = "off"
        environment["SWITCHYARD_DB_CACHE_FILE"] = directory.appendingPathComponent("cache.json").path
        let node = try BackgroundProcess(Self.binary, ["start"], environment: environment)
        defer { node.stop() }
        let admin = try #require(node.waitForLine(containing: "admin API listening on").flatMap {
            ConcurrentApplyTests.ports(in: $0, after: "http://127.0.0.1:").first
        }, "\(node.stderr)")
        func get(_ path: String, token: String?) -> TestResponse? {
            ConcurrentApplyTests.send(admin, "GET", path, headers: token.map { [("Kong-Admin-Token", $0)] } ?? [])
        }
        #expect(get("/services/orders", token: nil)?.status == 401)
        #expect(get("/services/orders", token: "syd_" + String(repeating: "0", count: 64))?.status == 401)
        let served = get("/services/orders", token: token)
        #expect(served?.status == 200, "\(served?.text ?? "no answer")")
    }
}
