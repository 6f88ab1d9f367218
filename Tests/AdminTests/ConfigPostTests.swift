import Admin
import Foundation
import Testing

/// `POST /config` with Kong's `check_hash` and `flatten_errors` options.
@Suite struct ConfigPostTests {
    static let seed = """
        _format_version: "3.0"
        services:
        - name: orders
          host: orders.internal
          routes:
          - name: orders-route
            paths: ["/orders"]
        upstreams:
        - name: orders.internal
          targets:
          - target: 127.0.0.1:9001
        """

    /// The seed as JSON, formatted differently: the same entities, so the same hash.
    static let seedJSON = """
        {"upstreams": [{"targets": [{"target": "127.0.0.1:9001"}], "name": "orders.internal"}],
         "_format_version": "3.0",
         "services": [{"routes": [{"paths": ["/orders"], "name": "orders-route"}], "host": "orders.internal", "name": "orders"}]}
        """

    static func isHash(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.count == 32 && text.allSatisfy(\.isHexDigit)
    }

    @Test func checkHashSkipsAConfigurationAlreadyInForce() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { client in
            let empty = try await client.send(.get, "/status")
            #expect(empty.json["configuration_hash"] as? String == String(repeating: "0", count: 32))

            let first = try await client.send(.post, "/config?check_hash=1", Self.seed)
            #expect(first.status == .created)
            let hash = first.json["configuration_hash"] as? String
            #expect(Self.isHash(hash) && hash != String(repeating: "0", count: 32))
            let status = try await client.send(.get, "/status")
            #expect(status.json["configuration_hash"] as? String == hash)
            let generation = status.json["configuration_generation"] as? Int

            for body in [Self.seed, Self.seedJSON, #"{"config": \#(String(reflecting: Self.seed))}"#] {
                let again = try await client.send(.post, "/config?check_hash=1", body)
                #expect(again.status == .notModified)
                #expect(again.text.isEmpty)
            }
            let unchanged = try await client.send(.get, "/status")
            #expect(unchanged.json["configuration_generation"] as? Int == generation)

            // Without check_hash (or with anything but "1", as Kong reads it) the same file is applied again.
            for uri in ["/config", "/config?check_hash=true", "/config?check_hash=0"] {
                let applied = try await client.send(.post, uri, Self.seed)
                #expect(applied.status == .created, "\(uri)")
                #expect(applied.json["configuration_hash"] as? String == hash)
            }

            let changed = Self.seed.replacingOccurrences(of: "127.0.0.1:9001", with: "127.0.0.1:9002")
            let different = try await client.send(.post, "/config?check_hash=1", changed)
            #expect(different.status == .created)
            #expect(Self.isHash(different.json["configuration_hash"]))
            #expect(different.json["configuration_hash"] as? String != hash)
        }
        // The first post, three forced re-applies and the change: never the skipped ones.
        #expect(harness.applied.all.count == 5)
    }

    @Test func checkHashFollowsEntityEdits() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { client in
            #expect(try await client.send(.post, "/config", Self.seed).status == .created)
            #expect(try await client.send(.post, "/config?check_hash=1", Self.seed).status == .notModified)
            // A change through the entity endpoints makes the same file a change again.
            let target = try await client.send(.post, "/upstreams/orders.internal/targets", #"{"target": "127.0.0.1:9003"}"#)
            #expect(target.status == .created)
            #expect(try await client.send(.post, "/config?check_hash=1", Self.seed).status == .created)
        }
    }

    static let broken = """
        _format_version: "9.9"
        services:
        - name: orders
          id: 6f0e2a4c-1111-4a7b-9c3d-2b1e0f9a8c7d
          host: orders.internal
          port: 70000
          tags: [team-a]
          routes:
          - name: orders-route
            paths: ["/orders", "no-slash"]
        - name: fine
          host: fine.internal
        upstreams:
        - name: orders.internal
          targets:
          - target: 127.0.0.1:9001
            weight: -1
        """

    @Test func flattenErrorsGroupsErrorsByEntity() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { client in
            let answer = try await client.send(.post, "/config?flatten_errors=1", Self.broken)
            #expect(answer.status == .badRequest)
            #expect(answer.json["code"] as? Int == 14)
            #expect(answer.json["name"] as? String == "invalid declarative configuration")
            let fields = answer.json["fields"] as? [String: Any] ?? [:]
            #expect(Array(fields.keys) == ["_format_version"], "\(answer.text)")
            let flat = try #require(answer.json["flattened_errors"] as? [[String: Any]], "\(answer.text)")
            let byType = Dictionary(flat.map { (($0["entity_type"] as? String) ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
            #expect(Set(byType.keys) == ["service", "route", "target"], "\(answer.text)")

            let service = try #require(byType["service"])
            #expect(service["entity_name"] as? String == "orders")
            #expect(service["entity_id"] as? String == "6f0e2a4c-1111-4a7b-9c3d-2b1e0f9a8c7d")
            #expect(service["entity_tags"] as? [String] == ["team-a"])
            let serviceErrors = service["errors"] as? [[String: Any]] ?? []
            #expect(serviceErrors.map { $0["field"] as? String } == ["port"], "\(serviceErrors)")
            #expect(serviceErrors.first?["type"] as? String == "field")
            let serviceEntity = service["entity"] as? [String: Any] ?? [:]
            #expect(serviceEntity["port"] as? Int == 70000)
            #expect(serviceEntity["routes"] == nil, "nested entities are listed on their own")

            let route = try #require(byType["route"])
            #expect(route["entity_name"] as? String == "orders-route")
            #expect(route["entity_id"] == nil)
            let routeErrors = route["errors"] as? [[String: Any]] ?? []
            #expect(routeErrors.compactMap { $0["field"] as? String }.allSatisfy { $0.hasPrefix("paths") }, "\(routeErrors)")
            #expect(!routeErrors.isEmpty)
            let routeEntity = route["entity"] as? [String: Any] ?? [:]
            #expect((routeEntity["service"] as? [String: Any])?["id"] as? String == "6f0e2a4c-1111-4a7b-9c3d-2b1e0f9a8c7d")

            let target = try #require(byType["target"])
            #expect(target["entity_name"] == nil)
            #expect((target["errors"] as? [[String: Any]])?.first?["field"] as? String == "weight")
            #expect((target["entity"] as? [String: Any])?["target"] as? String == "127.0.0.1:9001")
            // The upstream has no id, so the target names no parent.
            #expect((target["entity"] as? [String: Any])?["upstream"] == nil)

            // Without the option: Kong's usual error, keyed by field path.
            let plain = try await client.send(.post, "/config", Self.broken)
            #expect(plain.status == .badRequest)
            #expect(plain.json["flattened_errors"] == nil)
            #expect(plain.fields.keys.contains("services[0].port"))
        }
        #expect(harness.applied.all.isEmpty)
    }

    @Test func flattenErrorsReportsWholeEntityErrors() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { client in
            let duplicate = """
                _format_version: "3.0"
                services:
                - name: twin
                  host: a.internal
                - name: twin
                  host: b.internal
                """
            for option in ["flatten_errors=1", "flatten_errors=true", "flatten_errors=yes"] {
                let answer = try await client.send(.post, "/config?\(option)", duplicate)
                #expect(answer.status == .badRequest, "\(option)")
                let flat = answer.json["flattened_errors"] as? [[String: Any]] ?? []
                #expect(!flat.isEmpty, "\(option): \(answer.text)")
                #expect(flat.allSatisfy { $0["entity_type"] as? String == "service" && $0["entity_name"] as? String == "twin" })
            }
            // A syntax error has no entities to name: the usual answer.
            let syntax = try await client.send(.post, "/config?flatten_errors=1", "services: [unclosed")
            #expect(syntax.status == .badRequest)
            #expect(syntax.json["flattened_errors"] == nil)
            // flatten_errors=0 keeps the usual answer.
            let off = try await client.send(.post, "/config?flatten_errors=0", duplicate)
            #expect(off.json["flattened_errors"] == nil)
        }
    }
}
