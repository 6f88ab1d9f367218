import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The example of deploy/examples/admin-behind-gateway run as its README says, with the real binary: `switchyard
/// config import` of its kong.yaml, then `switchyard start --settings` its settings.yaml. Only the ports differ
/// (free loopback ports through SWITCHYARD_PROXY_LISTEN and SWITCHYARD_ADMIN_LISTEN, and the service's URL
/// rewritten to match in a copy of kong.yaml), and the database lives in a temporary directory.
/// Timing-sensitive (waits for a started process): `scripts/test` runs it on its own.
@Suite("the Admin API behind the gateway: the deploy/examples/admin-behind-gateway example", .serialized,
       .timeLimit(.minutes(2)))
struct AdminBehindGatewayTests {
    static var binary: String { ConcurrentApplyTests.binary }

    /// deploy/examples/admin-behind-gateway of this checkout.
    static var example: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // GatewayTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the repository
            .appendingPathComponent("deploy/examples/admin-behind-gateway")
    }

    /// The consumer's key in the example's kong.yaml.
    static let key = "change-me-ops-admin-key"

    static func send(_ port: Int, _ method: String, _ path: String, headers: [(String, String)] = [],
                     json: String? = nil) -> TestResponse? {
        ConcurrentApplyTests.send(port, method, path, headers: headers, json: json)
    }

    /// The `name` of every entity in an Admin API list answer (`{"data": [...]}`); nil when it is not one.
    static func names(in response: TestResponse?) -> [String]? {
        guard let response,
              let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let data = object["data"] as? [[String: Any]] else { return nil }
        return data.compactMap { $0["name"] as? String }
    }

    /// The `name` of the entity in an Admin API answer for one entity; nil when it has none.
    static func name(in response: TestResponse?) -> String? {
        guard let response,
              let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else { return nil }
        return object["name"] as? String
    }

    static func describe(_ response: TestResponse?) -> String {
        response.map { "\($0.status) \($0.text)" } ?? "no answer"
    }

    /// Runs a `switchyard` command to its end (bounded) and returns its exit status and standard output.
    static func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32?, stdout: String, stderr: String) {
        let process = try BackgroundProcess(binary, arguments, environment: environment)
        let status = process.waitForExit(timeout: .seconds(30))
        return (status, process.stdout, process.stderr)
    }

    @Test("/admin on the proxy: no key, a wrong key or a key in the query 401; the key lists and writes through to the loopback Admin API; with an Admin API token both are needed")
    func keyAuthRouteGuardsTheAdminAPI() async throws {
        let settings = Self.example.appendingPathComponent("settings.yaml")
        let original = try String(contentsOf: Self.example.appendingPathComponent("kong.yaml"), encoding: .utf8)
        let settingsText = try String(contentsOf: settings, encoding: .utf8)
        // What the rest of this test relies on, checked in the example itself.
        try #require(original.contains("url: http://127.0.0.1:8001"), "the example's service no longer names 127.0.0.1:8001")
        try #require(original.contains("key: \(Self.key)"), "the example's consumer key changed")
        try #require(settingsText.contains("admin_listen: 127.0.0.1:8001"), "the example's Admin API is not on loopback 8001")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-admin-gw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let admin = try freeLoopbackPort(Int32(SOCK_STREAM.rawValue))
        var proxy = try freeLoopbackPort(Int32(SOCK_STREAM.rawValue))
        while proxy == admin { proxy = try freeLoopbackPort(Int32(SOCK_STREAM.rawValue)) }
        let config = directory.appendingPathComponent("kong.yaml")
        try original.replacingOccurrences(of: "http://127.0.0.1:8001", with: "http://127.0.0.1:\(admin)")
            .write(to: config, atomically: true, encoding: .utf8)

        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:\(proxy)"
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:\(admin)"
        environment["SWITCHYARD_DATABASE"] = directory.appendingPathComponent("switchyard.db").path
        environment["SWITCHYARD_CONTROL_SOCKET"] = "off"
        environment["SWITCHYARD_WORKERS"] = "1"
        // Nothing here is resolved by name; a loopback DNS server keeps every packet on this machine.
        let dnsPort = try freeUDPPort()
        environment["SWITCHYARD_DNS_SERVERS"] = "127.0.0.1:\(dnsPort)"

        // The README's two commands.
        let imported = try Self.run(["config", "import", config.path, "--settings", settings.path], environment: environment)
        try #require(imported.status == 0, "config import: \(imported.stdout)\(imported.stderr)")
        let node = try BackgroundProcess(Self.binary, ["start", "--settings", settings.path], environment: environment)
        defer { node.stop() }
        try #require(node.waitForLine(containing: "proxy listening on http://127.0.0.1:\(proxy)") != nil,
                     "\(node.stdout)\n\(node.stderr)")
        try #require(node.waitForLine(containing: "admin API listening on http://127.0.0.1:\(admin)") != nil,
                     "\(node.stdout)\n\(node.stderr)")

        // The Admin API itself holds the example's entities.
        let direct = Self.send(admin, "GET", "/services")
        #expect(direct?.status == 200, "\(Self.describe(direct))")
        #expect(Self.names(in: direct) == ["admin-api"], "\(Self.describe(direct))")

        // No key, a wrong key, the key in the query (key_in_query: false): refused by the proxy.
        let noKey = Self.send(proxy, "GET", "/admin/services")
        #expect(noKey?.status == 401, "\(Self.describe(noKey))")
        #expect(noKey?.header("www-authenticate")?.hasPrefix("Key") == true, "\(noKey?.head ?? "")")
        #expect(noKey?.text.contains("No API key found") == true, "\(Self.describe(noKey))")
        #expect(Self.names(in: noKey) == nil)
        let wrongKey = Self.send(proxy, "GET", "/admin/services", headers: [("apikey", Self.key + "x")])
        #expect(wrongKey?.status == 401, "\(Self.describe(wrongKey))")
        #expect(wrongKey?.text.contains("Invalid authentication credentials") == true, "\(Self.describe(wrongKey))")
        let inQuery = Self.send(proxy, "GET", "/admin/services?apikey=\(Self.key)")
        #expect(inQuery?.status == 401, "\(Self.describe(inQuery))")
        let noKeyWrite = Self.send(proxy, "POST", "/admin/services",
                                   json: #"{"name": "refused", "url": "http://127.0.0.1:9"}"#)
        #expect(noKeyWrite?.status == 401, "\(Self.describe(noKeyWrite))")
        #expect(Self.send(admin, "GET", "/services/refused")?.status == 404)

        // The key: /admin/services reaches the Admin API's /services.
        let listed = Self.send(proxy, "GET", "/admin/services", headers: [("apikey", Self.key)])
        #expect(listed?.status == 200, "\(Self.describe(listed))")
        #expect(Self.names(in: listed) == ["admin-api"], "\(Self.describe(listed))")

        // A write through the gateway lands in the Admin API behind it.
        let created = Self.send(proxy, "POST", "/admin/services", headers: [("apikey", Self.key)],
                                json: #"{"name": "through-gateway", "url": "http://127.0.0.1:9"}"#)
        #expect(created?.status == 201, "\(Self.describe(created))")
        let stored = Self.send(admin, "GET", "/services/through-gateway")
        #expect(stored?.status == 200, "\(Self.describe(stored))")
        #expect(Self.name(in: stored) == "through-gateway", "\(Self.describe(stored))")
        #expect(Set(Self.names(in: Self.send(admin, "GET", "/services")) ?? []) == ["admin-api", "through-gateway"])

        // Combined with the Admin API's own token: once one exists, the key alone is not enough.
        let token = try Self.run(["admin-token", "create", "ops", "--settings", settings.path], environment: environment)
        try #require(token.status == 0, "admin-token create: \(token.stdout)\(token.stderr)")
        let secret = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!secret.isEmpty && !secret.contains("\n"), "admin-token create printed \(token.stdout)")
        let keyOnly = Self.send(proxy, "GET", "/admin/services", headers: [("apikey", Self.key)])
        #expect(keyOnly?.status == 401, "\(Self.describe(keyOnly))")
        #expect(keyOnly?.header("www-authenticate")?.hasPrefix("Basic") == true, "\(keyOnly?.head ?? "")")
        let tokenOnly = Self.send(proxy, "GET", "/admin/services", headers: [("Kong-Admin-Token", secret)])
        #expect(tokenOnly?.status == 401, "\(Self.describe(tokenOnly))")
        #expect(tokenOnly?.header("www-authenticate")?.hasPrefix("Key") == true, "\(tokenOnly?.head ?? "")")
        let both = Self.send(proxy, "GET", "/admin/services", headers: [("apikey", Self.key), ("Kong-Admin-Token", secret)])
        #expect(both?.status == 200, "\(Self.describe(both))")
        #expect(Set(Self.names(in: both) ?? []) == ["admin-api", "through-gateway"], "\(Self.describe(both))")
        #expect(Self.send(admin, "GET", "/services")?.status == 401, "loopback without a token once one exists")

        // A read-only token through the route reads and cannot write.
        let viewer = try Self.run(["admin-token", "create", "viewer", "--role", "read-only", "--settings", settings.path],
                                  environment: environment)
        try #require(viewer.status == 0, "admin-token create: \(viewer.stdout)\(viewer.stderr)")
        let readOnly = viewer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let viewed = Self.send(proxy, "GET", "/admin/services", headers: [("apikey", Self.key), ("Kong-Admin-Token", readOnly)])
        #expect(viewed?.status == 200, "\(Self.describe(viewed))")
        let viewerWrite = Self.send(proxy, "POST", "/admin/services", headers: [("apikey", Self.key), ("Kong-Admin-Token", readOnly)],
                                    json: #"{"name": "read-only", "url": "http://127.0.0.1:9"}"#)
        #expect(viewerWrite?.status == 403, "\(Self.describe(viewerWrite))")
        let adminWrite = Self.send(proxy, "POST", "/admin/services", headers: [("apikey", Self.key), ("Kong-Admin-Token", secret)],
                                   json: #"{"name": "with-token", "url": "http://127.0.0.1:9"}"#)
        #expect(adminWrite?.status == 201, "\(Self.describe(adminWrite))")
        #expect(Set(Self.names(in: Self.send(admin, "GET", "/services", headers: [("Kong-Admin-Token", secret)])) ?? [])
                == ["admin-api", "through-gateway", "with-token"])
    }
}
