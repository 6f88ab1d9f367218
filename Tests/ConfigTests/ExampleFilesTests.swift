import Foundation
import Testing
@testable import Config

/// The files in deploy/examples must always load.
@Suite("Example files")
struct ExampleFilesTests {
    static var examples: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/examples")
    }

    @Test func kongExampleLoads() throws {
        let path = Self.examples.appendingPathComponent("kong.yaml").path
        let loaded = try DeclarativeConfig.parse(try String(contentsOfFile: path, encoding: .utf8), fileName: path)
        let c = loaded.config
        #expect(loaded.warnings.isEmpty)
        #expect(c.services.count == 3)
        #expect(c.upstreams.map(\.name) == ["orders.upstream", "uploads.upstream"])
        #expect(c.targets.contains { $0.host == "_http._tcp.orders.demo.internal" })
        #expect(c.targets.contains { $0.host == "::1" && $0.port == 9002 })
        #expect(c.consumers.count == 2 && c.keyAuthCredentials.count == 2)
        let ordersAPI = try #require(c.routes.first { $0.name == "orders-api" })
        #expect(c.keyAuth(forRoute: ordersAPI)?.hideCredentials == true)
        #expect(c.routes.first { $0.name == "uploads" }?.maxRequestBodySize == 10_485_760)
        let catalog = try #require(c.services.first { $0.name == "catalog" })
        #expect(catalog.host == "catalog.internal" && catalog.port == 8080 && catalog.path == "/catalog")
    }

    @Test func settingsExampleLoads() throws {
        let path = Self.examples.appendingPathComponent("settings.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let settings = try NodeSettings.load(fileText: text, fileName: "settings.yaml", environment: [:])
        #expect(settings.proxyListen == [ListenAddress(host: "0.0.0.0", port: 8000)])
        #expect(settings.dnsServers == [ListenAddress(host: "127.0.0.1", port: 5353)])
        #expect(settings.declarativeConfig == "deploy/examples/kong.yaml")
    }
}
