import Foundation
import Testing
@testable import Config

/// Single entities in Admin API JSON: add, show, remove.
@Suite("Entity JSON")
struct EntityJSONTests {
    static let base = """
    _format_version: "3.0"
    services: [{name: existing, host: e.internal, routes: [{name: er, paths: [/e]}]}]
    upstreams: [{name: pool, targets: [{target: "10.0.0.1:80"}]}]
    consumers: [{username: alice, keyauth_credentials: [{key: k1}]}]
    """

    /// Ids counting up from 1, so tests are deterministic.
    final class Counter {
        var next: UInt8 = 0
        func make() -> UUID {
            next += 1
            return UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, next))
        }
    }

    @Test func addsAServiceWithNestedRoutes() throws {
        let config = try DeclarativeConfig.parse(Self.base).config
        let ids = Counter()
        let added = try config.adding(.services, json: """
        {"name": "new", "url": "http://n.internal:81/p", "routes": [{"name": "nr", "paths": ["/n"]}]}
        """, newID: ids.make)
        #expect(added.id == UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1)))
        #expect(added.config.services.count == 2 && added.config.routes.count == 2)
        #expect(added.config.routes.last?.service == added.id)
    }

    @Test func referencesExistingEntitiesByName() throws {
        let config = try DeclarativeConfig.parse(Self.base).config
        let added = try config.adding(.targets, json: #"{"upstream": "pool", "target": "10.0.0.2:80", "weight": 5}"#)
        #expect(added.config.targets.last?.upstream == config.upstreams[0].id)
        let route = try config.adding(.routes, json: #"{"service": {"name": "existing"}, "hosts": ["x.com"]}"#)
        #expect(route.config.routes.last?.service == config.services[0].id)
    }

    @Test func errorsAreRelativeToTheEntity() throws {
        let config = try DeclarativeConfig.parse(Self.base).config
        do {
            _ = try config.adding(.services, json: """
            {"name": "existing", "host": "h.internal", "port": 0, "routes": [{"paths": ["~(("]}]}
            """)
            Issue.record("expected errors")
        } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.contains("port: port must be between 1 and 65535, got 0"))
            #expect(lines.contains { $0.hasPrefix("routes[0].paths[0]: invalid regex") })
            #expect(lines.contains { $0.hasPrefix("name: service with name \"existing\" already exists (services/") })
            #expect(error.errors.contains { $0.kind == .conflict })
        }
        do {
            _ = try config.adding(.routes, json: #"{"service": "ghost", "paths": ["/g"]}"#)
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.map(\.description) == ["service: no service named or with id \"ghost\""])
            #expect(error.errors.map(\.kind) == [.notFound])
        }
    }

    @Test func showsAndRemovesEntities() throws {
        let config = try DeclarativeConfig.parse(Self.base).config
        let route = try #require(config.routes.first)
        let json = try #require(config.entityJSON(.routes, id: route.id))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["service"] as? [String: Any])?["id"] as? String == config.services[0].id.uuidString.lowercased())
        #expect(object["strip_path"] as? Bool == true)
        #expect(config.entityJSON(.routes, id: UUID()) == nil)

        // Re-adding what entityJSON shows gives the same entity back (the basis of PUT and PATCH).
        let readded = try config.removing(.routes, id: route.id).adding(.routes, json: json)
        #expect(readded.config.routes.last == route)

        let withoutUpstream = config.removing(.upstreams, id: config.upstreams[0].id)
        #expect(withoutUpstream.targets.isEmpty)
        let withoutConsumer = config.removing(.consumers, id: config.consumers[0].id)
        #expect(withoutConsumer.keyAuthCredentials.isEmpty)
    }
}
