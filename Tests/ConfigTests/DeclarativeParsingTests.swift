import Foundation
import Testing
@testable import Config

@Suite("Declarative parsing")
struct DeclarativeParsingTests {
    @Test func appliesKongDefaults() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services:
        - name: s
          host: example.internal
          routes:
          - name: r
            paths: [/a]
        upstreams:
        - name: pool.internal
          targets:
          - target: backend.internal
        """)
        let config = loaded.config
        let service = try #require(config.services.first)
        #expect(service.port == 80)
        #expect(service.protocol == .http)
        #expect(service.retries == 5)
        #expect(service.connectTimeout == 60_000 && service.readTimeout == 60_000 && service.writeTimeout == 60_000)
        #expect(service.enabled)
        let route = try #require(config.routes.first)
        #expect(route.service == service.id)
        #expect(route.stripPath == true)
        #expect(route.preserveHost == false)
        #expect(route.regexPriority == 0)
        #expect(route.protocols == [.http, .https])
        #expect(route.httpsRedirectStatusCode == 426)
        let upstream = try #require(config.upstreams.first)
        #expect(upstream.slots == 10_000)
        #expect(upstream.algorithm == .roundRobin)
        #expect(upstream.hashOn == .none)
        let hc = upstream.healthchecks
        #expect(hc.active.type == .http && hc.active.timeout == 1 && hc.active.concurrency == 10)
        #expect(hc.active.httpPath == "/" && hc.active.httpsVerifyCertificate)
        #expect(hc.active.healthy.httpStatuses == [200, 302])
        #expect(hc.active.unhealthy.httpStatuses == [429, 404, 500, 501, 502, 503, 504, 505])
        #expect(!hc.active.isEnabled && !hc.passive.isEnabled)
        #expect(hc.passive.unhealthy.httpStatuses == [429, 500, 503])
        #expect(hc.passive.healthy.httpStatuses.count == 19)
        #expect(hc.threshold == 0)
        let target = try #require(config.targets.first)
        #expect(target.upstream == upstream.id)
        #expect(target.host == "backend.internal" && target.port == 8000 && target.weight == 100)
        #expect(loaded.warnings.isEmpty)
    }

    @Test func readsJSONAsWell() throws {
        let loaded = try DeclarativeConfig.parse("""
        {"_format_version": "2.1", "services": [{"name": "s", "host": "10.0.0.1", "port": 8080,
          "routes": [{"hosts": ["api.example.com"]}]}]}
        """)
        #expect(loaded.config.formatVersion == "2.1")
        #expect(loaded.config.services.first?.port == 8080)
        #expect(loaded.config.routes.first?.hosts == ["api.example.com"])
    }

    @Test func resolvesTopLevelReferencesByNameAndID() throws {
        let id = "4e3ad2e4-0bc4-4638-8e34-c84a417ba39b"
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services:
        - {name: a, host: a.internal}
        - {id: \(id), host: b.internal}
        routes:
        - {name: ra, service: a, paths: [/a]}
        - {name: rb, service: {id: \(id)}, paths: [/b]}
        upstreams:
        - name: pool
        targets:
        - {upstream: pool, target: "10.0.0.1:81", weight: 5}
        consumers:
        - username: alice
        keyauth_credentials:
        - {consumer: alice, key: k1}
        plugins:
        - {name: key-auth, route: ra}
        - {name: key-auth, service: \(id), config: {key_names: [x-key], hide_credentials: true}}
        """)
        let c = loaded.config
        let a = try #require(c.services.first { $0.name == "a" })
        #expect(c.routes[0].service == a.id)
        #expect(c.routes[1].service == UUID(uuidString: id))
        #expect(c.targets[0].upstream == c.upstreams[0].id)
        #expect(c.targets[0].port == 81 && c.targets[0].weight == 5)
        #expect(c.keyAuthCredentials[0].consumer == c.consumers[0].id)
        #expect(c.plugins[0].route == c.routes[0].id)
        #expect(c.plugins[1].service == UUID(uuidString: id))
        #expect(c.keyAuth(forRoute: c.routes[0]) == KeyAuthConfig())
        #expect(c.keyAuth(forRoute: c.routes[1])?.keyNames == ["x-key"])
        #expect(c.keyAuth(forRoute: c.routes[1])?.hideCredentials == true)
    }

    @Test func nestedEntitiesAndPluginPrecedence() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services:
        - name: s
          host: s.internal
          plugins: [{name: key-auth, config: {key_names: [svc]}}]
          routes:
          - name: own
            paths: [/own]
            plugins: [{name: key-auth, config: {key_names: [route]}}]
          - name: inherits
            paths: [/inherits]
        - name: open
          host: open.internal
          routes: [{name: open, paths: [/open]}]
        consumers:
        - username: u
          keyauth_credentials: [{key: abc}]
        """).config
        func route(_ name: String) throws -> Route { try #require(c.routes.first { $0.name == name }) }
        #expect(c.keyAuth(forRoute: try route("own"))?.keyNames == ["route"])
        #expect(c.keyAuth(forRoute: try route("inherits"))?.keyNames == ["svc"])
        #expect(c.keyAuth(forRoute: try route("open")) == nil)
        #expect(c.keyAuthCredentials.first?.consumer == c.consumers.first?.id)
    }

    @Test func serviceURLShorthand() throws {
        let s = try #require(try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services: [{name: s, url: "http://api.internal:9000/base"}]
        """).config.services.first)
        #expect(s.host == "api.internal" && s.port == 9000 && s.path == "/base" && s.protocol == .http)
    }

    @Test func targetForms() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        upstreams:
        - name: pool
          targets:
          - target: "[::1]:9002"
          - target: "[2001:db8::1]"
          - target: 10.1.2.3
          - target: _http._tcp.api.service.consul
        """).config
        #expect(c.targets.map(\.target) == ["[::1]:9002", "[2001:db8::1]:8000", "10.1.2.3:8000",
                                             "_http._tcp.api.service.consul:8000"])
        #expect(c.targets[0].host == "::1")
    }

    @Test func idsAreStableAcrossLoads() throws {
        let text = """
        _format_version: "3.0"
        services: [{name: s, host: h.internal, routes: [{paths: [/x]}]}]
        upstreams: [{name: u, targets: [{target: "a:1"}]}]
        """
        let first = try DeclarativeConfig.parse(text).config
        let second = try DeclarativeConfig.parse(text).config
        #expect(first == second)
        #expect(first.services[0].id != first.routes[0].id)
    }

    @Test func serviceBalancedByUpstreamWithSameName() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services: [{name: s, host: pool.internal}, {name: t, host: plain.internal}]
        upstreams: [{name: pool.internal}]
        """).config
        #expect(c.upstream(forServiceHost: c.services[0].host)?.name == "pool.internal")
        #expect(c.upstream(forServiceHost: c.services[1].host) == nil)
    }

    @Test func healthcheckExtensionsAndOverrides() throws {
        let u = try #require(try DeclarativeConfig.parse("""
        _format_version: "3.0"
        upstreams:
        - name: pool
          healthchecks:
            threshold: 25
            max_ejection_percent: 50
            panic_threshold: 30
            active: {http_path: /health, healthy: {interval: 5, successes: 2}, unhealthy: {interval: 2, timeouts: 3}}
            passive: {unhealthy: {http_failures: 5, ejection_time: 10, max_ejection_time: 120}}
        """).config.upstreams.first)
        let hc = u.healthchecks
        #expect(hc.threshold == 25 && hc.maxEjectionPercent == 50 && hc.panicThreshold == 30)
        #expect(hc.active.httpPath == "/health" && hc.active.healthy.interval == 5 && hc.active.unhealthy.timeouts == 3)
        #expect(hc.active.unhealthy.httpStatuses == Healthchecks.ActiveUnhealthy().httpStatuses)
        #expect(hc.passive.unhealthy.httpFailures == 5)
        #expect(hc.passive.unhealthy.ejectionTime == 10 && hc.passive.unhealthy.maxEjectionTime == 120)
        #expect(hc.active.isEnabled && hc.passive.isEnabled)
    }

    @Test func harmlessMetadataIsAWarningAndCommentsAreSilent() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        _transform: true
        _comment: top
        services:
        - name: s
          host: h.internal
          created_at: 1700000000
          _comment: hello
          _ignore: [x]
        """)
        #expect(loaded.warnings.map(\.description) == ["services[0].created_at: ignored (no effect in Switchyard)"])
    }

    @Test func hashingOnAConsumerOrAURICaptureLoadsWithoutWarnings() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        upstreams:
        - name: u.upstream
          algorithm: consistent-hashing
          hash_on: uri_capture
          hash_on_uri_capture: id
        - name: v.upstream
          algorithm: consistent-hashing
          hash_on: consumer
        """)
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.config.upstreams[0].hashOnURICapture == "id")
    }

    @Test func aHashCookieNameAndPathThatWouldBreakTheSetCookieLineAreRefused() throws {
        for (name, path, field) in [("bad name", "/", "hash_on_cookie"), ("ok", "/a;Secure", "hash_on_cookie_path"),
                                    ("ok", "/a b", "hash_on_cookie_path"), ("ok", "a", "hash_on_cookie_path")] {
            let text = """
            {"_format_version": "3.0", "upstreams": [{"name": "u.upstream", "algorithm": "consistent-hashing",
             "hash_on": "cookie", "hash_on_cookie": "\(name)", "hash_on_cookie_path": "\(path)"}]}
            """
            #expect(throws: ConfigError.self, "\(name) \(path)") { try DeclarativeConfig.parse(text) }
            do {
                _ = try DeclarativeConfig.parse(text)
            } catch {
                #expect(error.issues.contains { $0.path == "upstreams[0].\(field)" }, "\(error.issues)")
            }
        }
        #expect(try DeclarativeConfig.parse("""
        {"_format_version": "3.0", "upstreams": [{"name": "u.upstream", "algorithm": "consistent-hashing",
         "hash_on": "cookie", "hash_on_cookie": "affinity", "hash_on_cookie_path": "/shop/v1"}]}
        """).warnings.isEmpty)
    }

    @Test func quotedAndUnquotedScalarsInStringFields() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: 3.0
        services: [{name: s, host: h.internal, tags: [2024, yes]}]
        routes: [{service: s, headers: {x-v: [1, "2"]}}]
        """).config
        #expect(c.formatVersion == "3.0")
        #expect(c.services[0].tags == ["2024", "yes"])
        #expect(c.routes[0].headers["x-v"] == ["1", "2"])
    }
}

@Suite("Older Kong formats")
struct OlderFormatTests {
    @Test func format21RegexPathsGainTheirTilde() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "2.1"
        services: [{name: s, host: h.internal, routes: [{paths: ["/users/\\\\d+", /plain-path_1.~%20]}]}]
        """)
        #expect(loaded.config.routes[0].paths == ["~/users/\\d+", "/plain-path_1.~%20"])
        #expect(loaded.warnings.map(\.kind) == [.converted])
    }

    @Test func format30PathsAreTakenLiterally() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services: [{name: s, host: h.internal, routes: [{paths: ["/a+b"]}]}]
        """)
        #expect(loaded.config.routes[0].paths == ["/a+b"])
    }

    @Test func nestedEntitiesMayRepeatTheirParent() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services: [{name: s, host: h.internal, routes: [{paths: [/], service: s}]}]
        upstreams: [{name: u, targets: [{target: "a:1", upstream: {name: u}}]}]
        """).config
        #expect(c.routes[0].service == c.services[0].id)
        do {
            _ = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            services: [{name: s, host: h.internal, routes: [{paths: [/], service: other}]}]
            """)
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.map(\.path) == ["services[0].routes[0].service"])
        }
    }
}

@Suite("Plugin scope")
struct PluginScopeTests {
    @Test func disabledRoutePluginDoesNotHideServicePlugin() throws {
        let c = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        services:
        - name: s
          host: h.internal
          plugins: [{name: key-auth, config: {key_names: [svc]}}]
          routes:
          - {name: r, paths: [/], plugins: [{name: key-auth, enabled: false, config: {key_names: [route]}}]}
        """).config
        #expect(c.keyAuth(forRoute: c.routes[0])?.keyNames == ["svc"])
    }

    @Test func consumerScopedPluginsAreRejected() {
        #expect(throws: ConfigError.self) {
            try DeclarativeConfig.parse("""
            _format_version: "3.0"
            consumers: [{username: u}]
            plugins: [{name: key-auth, consumer: u}]
            """)
        }
    }
}
