import Foundation
import Testing
@testable import Config

@Suite("Declarative export")
struct ExportTests {
    static let sample = """
    _format_version: "3.0"
    services:
    - name: s
      host: pool.internal
      path: /v1
      retries: 2
      tags: [a, "123"]
      routes:
      - name: r1
        paths: ["/api", "~/items/\\\\d+$"]
        methods: [GET]
        hosts: ["*.example.com"]
        headers: {x-version: ["1", "~*beta.*"]}
        regex_priority: 3
        strip_path: false
        max_request_body_size: 1024
        plugins: [{name: key-auth, config: {key_names: [apikey], hide_credentials: true}}]
      plugins: [{name: key-auth, enabled: false}]
    - name: bare
      host: 10.0.0.9
      port: 8080
    routes:
    - name: orphan
      paths: [/orphan]
    upstreams:
    - name: pool.internal
      algorithm: consistent-hashing
      hash_on: header
      hash_on_header: x-user
      healthchecks:
        active: {healthy: {interval: 2.5}}
        passive: {unhealthy: {ejection_time: 12}}
        panic_threshold: 20
      targets:
      - {target: "[::1]:81", weight: 0}
      - {target: "_http._tcp.api.consul"}
    consumers:
    - username: alice
      custom_id: "007"
      keyauth_credentials: [{key: "true"}]
    plugins:
    - {name: key-auth, config: {key_names: [global-key]}}
    """

    @Test(arguments: [DeclarativeConfig.ExportFormat.yaml, .json])
    func roundTrips(format: DeclarativeConfig.ExportFormat) throws {
        let original = try DeclarativeConfig.parse(Self.sample).config
        let text = original.export(as: format)
        let reread = try DeclarativeConfig.parse(text)
        #expect(reread.config == original, "\(text)")
        #expect(reread.warnings.isEmpty)
        // A second export is byte-identical: the format is stable.
        #expect(reread.config.export(as: format) == text)
    }

    @Test func exportUsesKongFieldNamesAndNesting() throws {
        let text = try DeclarativeConfig.parse(Self.sample).config.export(as: .yaml)
        #expect(text.hasPrefix("_format_version: \"3.0\"") || text.hasPrefix("_format_version: '3.0'"))
        #expect(text.contains("keyauth_credentials:"))
        #expect(text.contains("connect_timeout: 60000"))
        #expect(text.contains("https_redirect_status_code: 426"))
        #expect(text.contains("ejection_time: 12"))
        // Extension fields left at their defaults are not written.
        #expect(!text.contains("max_ejection_time"))
        #expect(!text.contains("max_ejection_percent"))
    }

    @Test func jsonExportIsValidJSON() throws {
        let text = try DeclarativeConfig.parse(Self.sample).config.export(as: .json)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(object?["_format_version"] as? String == "3.0")
        #expect((object?["services"] as? [Any])?.count == 2)
    }
}

@Suite("Flat export")
struct FlatExportTests {
    @Test(arguments: [DeclarativeConfig.ExportFormat.json, .yaml])
    func flatExportLoadsBackEqual(format: DeclarativeConfig.ExportFormat) throws {
        let original = try DeclarativeConfig.parse(ExportTests.sample).config
        let text = original.exportFlat(as: format)
        #expect(try DeclarativeConfig.parse(text).config == original, "\(text)")
    }
}
