import Admin
import Config
import Foundation
import Testing

@Suite struct KeyAuthTests {
    @Test func consumersCredentialsAndRoutePlugins() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/services", #"{"name": "api", "host": "api.internal"}"#)
            try await client.send(.post, "/services/api/routes", #"{"name": "guarded", "paths": ["/guarded"]}"#)
            try await client.send(.post, "/consumers", #"{"username": "alice"}"#)

            let credential = try await client.send(.post, "/consumers/alice/key-auth", #"{"key": "alice-secret"}"#)
            #expect(credential.status == .created)
            let duplicate = try await client.send(.post, "/consumers/alice/key-auth", #"{"key": "alice-secret"}"#)
            #expect(duplicate.status == .conflict)
            #expect(try await client.send(.get, "/consumers/alice/key-auth").data.map { $0["key"] as? String } == ["alice-secret"])
            #expect(try await client.send(.post, "/consumers/nobody/key-auth", #"{"key": "k"}"#).status == .notFound)

            let plugin = try await client.send(.post, "/routes/guarded/plugins",
                                               #"{"name": "key-auth", "config": {"key_names": ["x-api-key"]}}"#)
            #expect(plugin.status == .created)
            #expect(try await client.send(.get, "/routes/guarded/plugins").data.count == 1)
            #expect(try await client.send(.get, "/plugins").data.count == 1)
            let unsupported = try await client.send(.post, "/plugins", #"{"name": "rate-limiting"}"#)
            #expect(unsupported.status == .badRequest)

            // Deleting a consumer takes its credentials with it.
            #expect(try await client.send(.delete, "/consumers/alice").status == .noContent)
        }
        let config = harness.store.snapshot.config
        let route = try #require(config.routes.first)
        #expect(config.keyAuth(forRoute: route)?.keyNames == ["x-api-key"])
        #expect(config.keyAuthCredentials.isEmpty)
        #expect(config.consumers.isEmpty)
    }

    @Test func patchingAConsumerKeepsItsCredentials() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/consumers", #"{"username": "bob"}"#)
            try await client.send(.post, "/consumers/bob/key-auth", #"{"key": "bob-key"}"#)
            let patched = try await client.send(.patch, "/consumers/bob", #"{"custom_id": "c-7"}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["custom_id"] as? String == "c-7")
            #expect(try await client.send(.get, "/consumers/c-7/key-auth").data.count == 1)
        }
        #expect(harness.store.snapshot.config.keyAuthCredentials.map(\.key) == ["bob-key"])
    }
}
