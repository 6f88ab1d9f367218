import Admin
import Config
import Foundation
import Testing

@Suite struct EntityCRUDTests {
    @Test func serviceRoundTrip() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let created = try await client.send(.post, "/services", #"{"name": "orders", "host": "orders.internal", "port": 8080, "tags": ["team-a"]}"#)
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["port"] as? Int == 8080)

            let byName = try await client.send(.get, "/services/orders")
            #expect(byName.status == .ok)
            #expect(byName.json["id"] as? String == id)
            #expect(try await client.send(.get, "/services/\(id)").json["name"] as? String == "orders")

            let patched = try await client.send(.patch, "/services/orders", #"{"port": 9090}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["port"] as? Int == 9090)
            #expect(patched.json["host"] as? String == "orders.internal")
            #expect(patched.json["id"] as? String == id)

            let replaced = try await client.send(.put, "/services/orders", #"{"host": "other.internal"}"#)
            #expect(replaced.status == .ok)
            #expect(replaced.json["id"] as? String == id)
            #expect(replaced.json["port"] as? Int == 80)
            #expect(replaced.json["name"] as? String == "orders")

            #expect(try await client.send(.delete, "/services/orders").status == .noContent)
            #expect(try await client.send(.get, "/services/orders").status == .notFound)
            #expect(try await client.send(.get, "/services/\(id)").status == .notFound)
        }
        // Every write reached the node, the last one without the service.
        let applied = harness.applied.all
        #expect(applied.count == 4)
        #expect(applied.first?.services.first?.port == 8080)
        #expect(applied.last?.services.isEmpty == true)
        #expect(harness.store.snapshot.generation == 4)
    }

    @Test func putCreatesByNameOrId() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let byName = try await client.send(.put, "/upstreams/pool.internal", "{}")
            #expect(byName.status == .created)
            #expect(byName.json["name"] as? String == "pool.internal")
            let id = "6f1c1b2e-3c5d-4a4e-9a57-1f0f7c9d5e01"
            let byID = try await client.send(.put, "/consumers/\(id)", #"{"username": "bob"}"#)
            #expect(byID.status == .created)
            #expect(byID.json["id"] as? String == id)
            #expect(try await client.send(.get, "/consumers/bob").json["id"] as? String == id)
        }
    }

    @Test func unknownEntitiesAre404AndDeleteIsIdempotent() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            #expect(try await client.send(.get, "/routes/nope").status == .notFound)
            #expect(try await client.send(.patch, "/upstreams/nope", #"{"slots": 100}"#).status == .notFound)
            #expect(try await client.send(.get, "/upstreams/nope/targets").status == .notFound)
            #expect(try await client.send(.post, "/services/nope/routes", #"{"paths": ["/x"]}"#).status == .notFound)
            #expect(try await client.send(.delete, "/consumers/nope").status == .noContent)
        }
        #expect(harness.applied.all.isEmpty)
    }

    @Test func routesNestUnderTheirService() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/services", #"{"name": "a", "host": "a.internal"}"#)
            try await client.send(.post, "/services", #"{"name": "b", "host": "b.internal"}"#)
            let route = try await client.send(.post, "/services/a/routes", #"{"name": "ra", "paths": ["/a"]}"#)
            #expect(route.status == .created)
            let serviceID = try await client.send(.get, "/services/a").json["id"] as? String
            #expect((route.json["service"] as? [String: Any])?["id"] as? String == serviceID)
            try await client.send(.post, "/routes", #"{"name": "rb", "paths": ["/b"], "service": {"name": "b"}}"#)

            #expect(try await client.send(.get, "/services/a/routes").data.map { $0["name"] as? String } == ["ra"])
            #expect(try await client.send(.get, "/routes").data.count == 2)

            // A service with routes cannot go; its routes first.
            let refused = try await client.send(.delete, "/services/a")
            #expect(refused.status == .badRequest)
            #expect(try await client.send(.get, "/services/a").status == .ok)
            #expect(try await client.send(.delete, "/routes/ra").status == .noContent)
            #expect(try await client.send(.delete, "/services/a").status == .noContent)
        }
        let config = harness.store.snapshot.config
        #expect(config.services.map(\.name) == ["b"])
        #expect(config.routes.map(\.name) == ["rb"])
    }

    @Test func targetsLiveUnderTheirUpstreamAndSurviveUpstreamPatch() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/upstreams", #"{"name": "pool.internal"}"#)
            let target = try await client.send(.post, "/upstreams/pool.internal/targets", #"{"target": "127.0.0.1:9001", "weight": 10}"#)
            #expect(target.status == .created)
            try await client.send(.post, "/upstreams/pool.internal/targets", #"{"target": "127.0.0.1:9002"}"#)
            let duplicate = try await client.send(.post, "/upstreams/pool.internal/targets", #"{"target": "127.0.0.1:9001"}"#)
            #expect(duplicate.status == .conflict)

            #expect(try await client.send(.get, "/upstreams/pool.internal/targets/127.0.0.1:9001").json["weight"] as? Int == 10)
            let patched = try await client.send(.patch, "/upstreams/pool.internal/targets/127.0.0.1:9001", #"{"weight": 0}"#)
            #expect(patched.json["weight"] as? Int == 0)

            let upstream = try await client.send(.patch, "/upstreams/pool.internal", #"{"slots": 100}"#)
            #expect(upstream.status == .ok)
            #expect(upstream.json["slots"] as? Int == 100)
            let targets = try await client.send(.get, "/upstreams/pool.internal/targets").data
            #expect(targets.map { $0["target"] as? String } == ["127.0.0.1:9001", "127.0.0.1:9002"])

            #expect(try await client.send(.delete, "/upstreams/pool.internal/targets/127.0.0.1:9002").status == .noContent)
            #expect(try await client.send(.get, "/upstreams/pool.internal/targets").data.count == 1)
        }
        let config = harness.store.snapshot.config
        #expect(config.targets.map(\.target) == ["127.0.0.1:9001"])
        #expect(config.targets.first?.weight == 0)
        #expect(config.upstreams.first?.slots == 100)
    }

    @Test func patchOfANestedRecordMergesIt() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/upstreams", #"{"name": "pool.internal", "healthchecks": {"active": {"http_path": "/health"}}}"#)
            let patched = try await client.send(.patch, "/upstreams/pool.internal",
                                                #"{"healthchecks": {"active": {"healthy": {"interval": 5}}}}"#)
            #expect(patched.status == .ok)
        }
        let upstream = try #require(harness.store.snapshot.config.upstreams.first)
        #expect(upstream.healthchecks.active.httpPath == "/health")
        #expect(upstream.healthchecks.active.healthy.interval == 5)
    }
}
