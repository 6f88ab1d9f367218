import Admin
import DNSWire
import Foundation
import Store
import Testing

@Suite struct AuthTests {
    @Test func clientsOutsideTheAllowListAreRefused() async throws {
        let harness = try await AdminHarness.make()
        let loopback = try #require(IPNetwork("127.0.0.0/8"))
        let elsewhere = try #require(IPNetwork("10.0.0.0/8"))
        try await harness.test(allow: [elsewhere, loopback], live: true) { (client: AdminHarness.Client) async throws in
            #expect(try await client.send(.get, "/services").status == .ok)
        }
        try await harness.test(allow: [elsewhere], live: true) { (client: AdminHarness.Client) async throws in
            let refused = try await client.send(.get, "/services")
            #expect(refused.status == .forbidden)
            #expect(!refused.text.contains("10.0.0.0"), "the refusal names no detail")
        }
        // In process there is no client address: refused as well when a list is set.
        try await harness.test(allow: [loopback]) { (client: AdminHarness.Client) async throws in
            #expect(try await client.send(.get, "/services").status == .forbidden)
        }
    }

    @Test func openOnLoopbackUntilATokenExists() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let open = try await client.send(.get, "/services")
            #expect(open.status == .ok)
        }
        _ = try await harness.store.createToken(name: "ops", role: .admin)
        try await harness.test { (client: AdminHarness.Client) async throws in
            let closed = try await client.send(.get, "/services")
            #expect(closed.status == .unauthorized)
        }
    }

    @Test func tokensAndRoles() async throws {
        let harness = try await AdminHarness.make()
        let admin = try await harness.store.createToken(name: "ops", role: .admin)
        let reader = try await harness.store.createToken(name: "dashboard", role: .readOnly)
        try await harness.test(requireToken: true) { (client: AdminHarness.Client) async throws in
            let missing = try await client.send(.get, "/services")
            #expect(missing.status == .unauthorized)
            let wrong = try await client.send(.get, "/services", token: admin + "0")
            #expect(wrong.status == .unauthorized)
            // Both failures look the same: nothing tells a token that exists from one that does not.
            #expect(wrong.text == missing.text)

            #expect(try await client.send(.get, "/services", token: reader).status == .ok)
            let forbidden = try await client.send(.post, "/services", #"{"name": "s", "host": "s.internal"}"#, token: reader)
            #expect(forbidden.status == .forbidden)
            #expect(try await client.send(.delete, "/services/s", token: reader).status == .forbidden)

            let created = try await client.send(.post, "/services", #"{"name": "s", "host": "s.internal"}"#, token: admin)
            #expect(created.status == .created)
        }
        #expect(harness.store.snapshot.config.services.map(\.name) == ["s"])
    }

    @Test func requiredTokenWithNoneStoredRefusesEverything() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test(requireToken: true) { (client: AdminHarness.Client) async throws in
            let missing = try await client.send(.get, "/status")
            #expect(missing.status == .unauthorized)
            let guessed = try await client.send(.get, "/status", token: "guess")
            #expect(guessed.status == .unauthorized)
        }
    }
}
