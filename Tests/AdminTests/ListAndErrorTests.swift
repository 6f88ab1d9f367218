import Admin
import Foundation
import Testing

@Suite struct ListAndErrorTests {
    @Test func paginationWalksEveryEntityOnceWithNext() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            for i in 0..<7 {
                #expect(try await client.send(.post, "/consumers", #"{"username": "user\#(i)"}"#).status == .created)
            }
            var seen: [String] = []
            var uri: String? = "/consumers?size=3"
            var pages = 0
            while let next = uri, pages < 10 {
                let page = try await client.send(.get, next)
                #expect(page.status == .ok)
                #expect(page.data.count <= 3)
                seen += page.data.compactMap { $0["username"] as? String }
                uri = page.json["next"] as? String
                pages += 1
            }
            #expect(pages == 3)
            #expect(seen == (0..<7).map { "user\($0)" })

            let last = try await client.send(.get, "/consumers?size=3&offset=6")
            #expect(last.data.count == 1)
            #expect(last.json["next"] is NSNull)
            #expect(try await client.send(.get, "/consumers?size=0").status == .badRequest)
            #expect(try await client.send(.get, "/consumers?size=1001").status == .badRequest)
            #expect(try await client.send(.get, "/consumers?offset=abc").status == .badRequest)
        }
    }

    @Test func tagsFilterAllOrAny() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/services", #"{"name": "a", "host": "a.internal", "tags": ["prod", "eu"]}"#)
            try await client.send(.post, "/services", #"{"name": "b", "host": "b.internal", "tags": ["prod", "us"]}"#)
            try await client.send(.post, "/services", #"{"name": "c", "host": "c.internal", "tags": ["dev"]}"#)
            func names(_ uri: String) async throws -> [String] {
                try await client.send(.get, uri).data.compactMap { $0["name"] as? String }
            }
            #expect(try await names("/services?tags=prod") == ["a", "b"])
            #expect(try await names("/services?tags=prod,eu") == ["a"])
            #expect(try await names("/services?tags=eu/dev") == ["a", "c"])
            #expect(try await names("/services?tags=none").isEmpty)
        }
    }

    @Test func validationErrorsNameEveryField() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.post, "/services", #"{"name": "bad", "host": "not a host", "port": 70000, "retries": -1}"#)
            #expect(answer.status == .badRequest)
            #expect(answer.json["name"] as? String == "schema violation")
            #expect(Set(answer.fields.keys).isSuperset(of: ["host", "port", "retries"]))
            #expect((answer.fields["port"] as? String)?.contains("65535") == true)

            let route = try await client.send(.post, "/routes", #"{"name": "r", "paths": ["no-slash"], "methods": ["get"]}"#)
            #expect(route.status == .badRequest)
            #expect(route.fields.keys.contains("paths[0]"))
            #expect(route.fields.keys.contains("methods[0]"))

            let notJSON = try await client.send(.post, "/services", "{not json")
            #expect(notJSON.status == .badRequest)
            let array = try await client.send(.post, "/services", "[1]")
            #expect(array.status == .badRequest)
        }
        #expect(harness.store.snapshot.config.services.isEmpty)
        #expect(harness.applied.all.isEmpty)
    }

    @Test func nameConflictsAre409() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            #expect(try await client.send(.post, "/services", #"{"name": "orders", "host": "a.internal"}"#).status == .created)
            let again = try await client.send(.post, "/services", #"{"name": "orders", "host": "b.internal"}"#)
            #expect(again.status == .conflict)
            #expect(again.fields.keys.contains("name"))
            #expect(again.json["name"] as? String == "unique constraint violation")

            try await client.send(.post, "/services", #"{"name": "billing", "host": "c.internal"}"#)
            let rename = try await client.send(.patch, "/services/billing", #"{"name": "orders"}"#)
            #expect(rename.status == .conflict)

            try await client.send(.post, "/consumers", #"{"username": "alice"}"#)
            #expect(try await client.send(.post, "/consumers", #"{"username": "alice"}"#).status == .conflict)
        }
        #expect(harness.store.snapshot.config.services.map(\.name) == ["orders", "billing"])
    }

    @Test func statusReportsGenerationAndDatabase() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await client.send(.post, "/consumers", #"{"username": "a"}"#)
            try await client.send(.post, "/consumers", #"{"username": "b"}"#)
            let status = try await client.send(.get, "/status")
            #expect(status.status == .ok)
            #expect(status.json["configuration_generation"] as? Int == 2)
            #expect((status.json["database"] as? [String: Any])?["reachable"] as? Bool == true)
            #expect((status.json["uptime_seconds"] as? Double ?? -1) >= 0)
            #expect((status.json["entities"] as? [String: Any])?["consumers"] as? Int == 2)
        }
    }

    @Test func declarativeConfigIsAllOrNothing() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let good = """
                {"_format_version": "3.0", "services": [{"name": "s", "host": "s.internal",
                 "routes": [{"name": "r", "paths": ["/s"]}]}]}
                """
            #expect(try await client.send(.post, "/config", good).status == .created)
            let bad = """
                {"_format_version": "3.0", "services": [{"name": "x", "host": "x.internal", "port": 0},
                 {"name": "y", "host": "bad host"}]}
                """
            let refused = try await client.send(.post, "/config", bad)
            #expect(refused.status == .badRequest)
            #expect(refused.fields.keys.contains("services[0].port"))
            #expect(refused.fields.keys.contains("services[1].host"))
            let exported = try await client.send(.get, "/config?format=json")
            #expect(exported.text.contains("\"s.internal\""))
            #expect(!exported.text.contains("x.internal"))
        }
        #expect(harness.store.snapshot.config.services.map(\.name) == ["s"])
    }
}
