import Admin
import Foundation
import Testing

@Suite struct AdminServerTests {
    @Test func loopbackIsRecognised() {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "localhost", "LOCALHOST"] {
            #expect(AdminSecurity.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "::2", "128.0.0.1", "admin.example.com"] {
            #expect(!AdminSecurity.isLoopback(host), "\(host)")
        }
    }

    @Test func nonLoopbackWithoutTokensRefusesToStart() {
        #expect(AdminSecurity.refusal(host: "0.0.0.0", port: 8001, hasTokens: false)?.contains("admin-token create") == true)
        #expect(AdminSecurity.refusal(host: "10.1.2.3", port: 8001, hasTokens: true) == nil)
        #expect(AdminSecurity.refusal(host: "127.0.0.1", port: 8001, hasTokens: false) == nil)
    }

    @Test func serverBindsAndABusyPortIsAnError() async throws {
        let harness = try await AdminHarness.make()
        let first = try await AdminServer.start(harness.api(), host: "127.0.0.1", port: 0)
        #expect(first.port > 0)
        do {
            let second = try await AdminServer.start(harness.api(), host: "127.0.0.1", port: first.port)
            await second.stop()
            Issue.record("a second server bound the same port")
        } catch {
            #expect(error.message.contains("\(first.port)"))
        }
        await first.stop()
    }

    @Test func crudOverARealSocket() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test(live: true) { (client: AdminHarness.Client) async throws in
            let created = try await client.send(.post, "/upstreams", #"{"name": "live.internal"}"#)
            #expect(created.status == .created)
            let target = try await client.send(.post, "/upstreams/live.internal/targets", #"{"target": "127.0.0.1:9"}"#)
            #expect(target.status == .created)
            let listed = try await client.send(.get, "/upstreams/live.internal/targets")
            #expect(listed.data.map { $0["target"] as? String } == ["127.0.0.1:9"])
            let invalid = try await client.send(.post, "/upstreams", #"{"name": "x", "slots": 5}"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.fields.keys.contains("slots"))
        }
        #expect(harness.applied.all.count == 2)
    }
}
