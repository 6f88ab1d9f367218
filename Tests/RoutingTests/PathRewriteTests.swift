import Config
import Testing
@testable import Routing

@Suite("Upstream path and Host")
struct PathRewriteTests {
    /// Kong's path_handling v0 table: (service path, route path, request, strip_path, upstream path).
    @Test(arguments: [
        (nil as String?, "/api", "/api/x", true, "/x"),
        (nil, "/api", "/api", true, "/"),
        (nil, "/api", "/api/", true, "/"),
        (nil, "/api", "/api/x", false, "/api/x"),
        (nil, "/", "/", true, "/"),
        ("/v1", "/api", "/api/x", true, "/v1/x"),
        ("/v1", "/api", "/api", true, "/v1"),
        ("/v1", "/api", "/api/", true, "/v1/"),
        ("/v1", "/api", "/apix", true, "/v1/x"),
        ("/v1", "/api", "/api/x", false, "/v1/api/x"),
        ("/v1", "/", "/", false, "/v1"),
        ("/v1/", "/api", "/api/x", true, "/v1/x"),
        ("/v1/", "/api", "/apix", true, "/v1/x"),
        ("/v1/", "/api", "/api", true, "/v1"),
        ("/v1/", "/api", "/api/", true, "/v1/"),
        ("/v1/", "/api", "/api/x", false, "/v1/api/x"),
        ("/v1", "/api/", "/api/x", true, "/v1/x"),
        ("/v1/", "/api/", "/api/x", true, "/v1/x"),
        ("/", "/api", "/api/x", true, "/x"),
        ("/", "/api", "/api/x", false, "/api/x"),
    ])
    func kongPathJoin(servicePath: String?, routePath: String, request: String, strip: Bool, expected: String) throws {
        let service = servicePath.map { "{name: svc, host: b.internal, path: \"\($0)\"}" }
            ?? "{name: svc, host: b.internal}"
        let router = try makeRouter("- {name: r, service: svc, paths: [\"\(routePath)\"], strip_path: \(strip)}",
                                    service: service)
        #expect(router.match(path: request)?.upstreamTarget == expected)
    }

    @Test func regexStripRemovesTheMatchedPart() throws {
        let router = try makeRouter("""
        - {name: r, service: svc, paths: ["~/items/\\\\d+"], strip_path: true}
        """, service: "{name: svc, host: b.internal, path: /store}")
        #expect(router.match(path: "/items/42/detail")?.upstreamTarget == "/store/detail")
        #expect(router.match(path: "/items/42")?.upstreamTarget == "/store")
    }

    @Test func queryIsKeptVerbatim() throws {
        let router = try makeRouter("- {name: r, service: svc, paths: [/api]}",
                                    service: "{name: svc, host: b.internal, path: /v1}")
        #expect(router.match(path: "/api/x?a=1&b=%2F")?.upstreamTarget == "/v1/x?a=1&b=%2F")
        #expect(router.match(path: "/api?")?.upstreamTarget == "/v1?")
    }

    @Test func stripNeverClimbsAboveServicePath() throws {
        let router = try makeRouter("- {name: r, service: svc, paths: [/api]}",
                                    service: "{name: svc, host: b.internal, path: /v1}")
        #expect(router.match(path: "/api/../api/x")?.upstreamTarget == "/v1/x")
        #expect(router.match(path: "/api/..")?.upstreamTarget == nil)  // normalizes to "/", no route
    }

    @Test func hostHeaderRules() throws {
        let text = """
        _format_version: "3.0"
        services:
        - {name: plain, host: api.internal, port: 8080, routes: [{name: plain, paths: [/plain]}]}
        - {name: plain80, host: api.internal, routes: [{name: plain80, paths: [/p80]}]}
        - {name: pooled, host: pool, routes: [{name: pooled, paths: [/pool]},
                                             {name: kept, paths: [/kept], preserve_host: true}]}
        - {name: fixed, host: fixedpool, routes: [{name: fixed, paths: [/fixed]}]}
        upstreams:
        - {name: pool}
        - {name: fixedpool, host_header: static.example.com}
        """
        let router = Router(config: try DeclarativeConfig.parse(text).config)
        #expect(router.match(host: "Client.Example:8000", path: "/plain")?.hostHeader == .value("api.internal:8080"))
        #expect(router.match(path: "/p80")?.hostHeader == .value("api.internal"))
        #expect(router.match(path: "/pool")?.hostHeader == .targetHost)
        #expect(router.match(host: "Client.Example:8000", path: "/kept")?.hostHeader == .value("Client.Example:8000"))
        #expect(router.match(path: "/fixed")?.hostHeader == .value("static.example.com"))
        if case .upstream(let upstream)? = router.match(path: "/pool")?.target.destination {
            #expect(upstream.name == "pool")
        } else {
            Issue.record("expected an upstream destination")
        }
        #expect(router.match(path: "/plain")?.target.destination == .host("api.internal", port: 8080))
        #expect(UpstreamHostHeader.forTarget(host: "t.internal", port: 8000) == "t.internal:8000")
        #expect(UpstreamHostHeader.forTarget(host: "::1", port: 80) == "[::1]")
    }

    @Test(arguments: [
        ("/a/b", "/a/b"),
        ("", "/"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/../../b", "/b"),
        ("/a/b/..", "/a/"),
        ("/a/%7euser", "/a/~user"),
        ("/a%2fb", "/a%2Fb"),
        ("/%41%42", "/AB"),
        ("/a/.hidden", "/a/.hidden"),
    ])
    func normalization(input: String, expected: String) {
        #expect(PathNormalizer.normalize(Substring(input)) == expected)
    }
}
