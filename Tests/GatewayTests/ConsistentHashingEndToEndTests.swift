import Config
import Foundation
import Gateway
import Testing
import TestSupport

/// Consistent hashing through a whole node: the route's request gives the key (header, cookie, path, query
/// argument or the client's address, with `hash_fallback` when the first is absent), the upstream's ring picks.
@Suite("Consistent hashing end to end")
struct ConsistentHashingEndToEndTests {
    /// A node with one upstream of three backends, hashed as `hashing` (YAML lines) says.
    static func start(_ hashing: String, paths: String = #"["/"]"#, routeLines: String = "", trailer: String = "") async throws
        -> (node: GatewayNode, port: Int, backends: [TestBackend]) {
        var backends: [TestBackend] = []
        for name in ["h1", "h2", "h3"] { backends.append(try await TestBackend.start(name: name)) }
        let targets = backends.map { "      - target: 127.0.0.1:\($0.port)" }.joined(separator: "\n")
        let config = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            upstreams:
              - name: hashed.upstream
                algorithm: consistent-hashing
            \(hashing)
                targets:
            \(targets)
            services:
              - name: hashed
                host: hashed.upstream
                routes:
                  - name: hashed
                    paths: \(paths)
            \(routeLines)
            \(trailer)
            """).config
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "2"]))
        let node = try GatewayNode(settings: settings)
        node.apply(config)
        return (node, try await node.start(), backends)
    }

    static func stop(_ node: GatewayNode, _ backends: [TestBackend]) async {
        await node.shutdown(grace: .milliseconds(100))
        for backend in backends { await backend.stop() }
    }

    /// The backend that answered `request` (sent on a new connection).
    static func backend(_ port: Int, _ request: String) throws -> String {
        let client = try TestClient(port: port)
        try client.send(request)
        let response = try client.readResponse()
        #expect(response.status == 200)
        return response.header("x-backend") ?? "?"
    }

    /// Sends each key's requests, each on a new connection: all of a key's must reach the backend its first
    /// one reached, and the keys together must reach more than one backend.
    static func expectSticky(_ port: Int, _ requestsByKey: [[String]],
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        var seen: Set<String> = []
        for requests in requestsByKey {
            guard let firstRequest = requests.first else { continue }
            let first = try backend(port, firstRequest)
            seen.insert(first)
            for request in requests.dropFirst() {
                #expect(try backend(port, request) == first, "moved: \(request)", sourceLocation: sourceLocation)
            }
        }
        #expect(seen.count >= 2, "\(requestsByKey.count) keys all on \(seen)", sourceLocation: sourceLocation)
    }

    static func get(_ target: String, _ headers: String = "") -> String {
        "GET \(target) HTTP/1.1\r\nHost: a\r\n\(headers)Connection: close\r\n\r\n"
    }

    @Test("hash_on header: a key always reaches the same backend, keys spread over several, and a request without the header falls back to the client's address")
    func header() async throws {
        let (node, port, backends) = try await Self.start("""
                hash_on: header
                hash_on_header: x-user
                hash_fallback: ip
            """)
        try Self.expectSticky(port, (0..<12).map { user in
            ["/hello", "/a", "/b", "/"].map { Self.get($0, "X-User: user-\(user)\r\n") }
        })
        let anonymous = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let byAddress = try Self.backend(port, anonymous)
        for _ in 0..<5 { #expect(try Self.backend(port, anonymous) == byAddress) }
        await Self.stop(node, backends)
    }

    @Test("hash_on ip: the client's address decides even when the fallback's input is present")
    func ipFirst() async throws {
        let (node, port, backends) = try await Self.start("""
                hash_on: ip
                hash_fallback: header
                hash_fallback_header: x-user
            """)
        let plain = try Self.backend(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        for user in 0..<12 {
            let request = "GET / HTTP/1.1\r\nHost: a\r\nX-User: u\(user)\r\nConnection: close\r\n\r\n"
            #expect(try Self.backend(port, request) == plain, "u\(user) was hashed on the header, not the address")
        }
        await Self.stop(node, backends)
    }

    @Test("hash_on cookie, path and query_arg each keep a key on one backend")
    func cookiePathQuery() async throws {
        for (hashing, requests) in [
            ("    hash_on: cookie\n    hash_on_cookie: session",
             (0..<8).map { "GET / HTTP/1.1\r\nHost: a\r\nCookie: theme=dark; session=s\($0)\r\nConnection: close\r\n\r\n" }),
            ("    hash_on: path",
             (0..<8).map { "GET /item/\($0)?v=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" }),
            ("    hash_on: query_arg\n    hash_on_query_arg: tenant",
             (0..<8).map { "GET /x?a=1&tenant=t\($0) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" }),
        ] {
            let (node, port, backends) = try await Self.start(hashing)
            try Self.expectSticky(port, requests.map { [$0, $0, $0] })
            if hashing.contains("path") {
                // The path is hashed as it is routed: normalized, so each pair names one resource and one backend
                // (eight pairs agreeing by chance, with three backends, is a 1 in 6,561 event).
                for n in 0..<8 {
                    let plain = try Self.backend(port, "GET /item/\(n) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    let dotted = try Self.backend(port, "GET /x/../item/%3\(n) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    #expect(plain == dotted, "/item/\(n)")
                }
            }
            await Self.stop(node, backends)
        }
    }

    @Test("hash_on cookie: a client without the cookie is given one (hash_on_cookie_path), and with it keeps its backend")
    func generatedCookie() async throws {
        let (node, port, backends) = try await Self.start("""
                hash_on: cookie
                hash_on_cookie: affinity
                hash_on_cookie_path: /app
            """)
        for _ in 0..<6 {
            let client = try TestClient(port: port)
            try client.send("GET /app/page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            let first = try client.readResponse()
            #expect(first.status == 200)
            let cookie = try #require(first.header("set-cookie"), "no cookie for a client without one")
            let parts = cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(parts.count == 2 && parts[1] == "Path=/app", "\(cookie)")
            #expect(parts[0].hasPrefix("affinity=") && parts[0].count == "affinity=".count + 36, "\(cookie)")
            let backend = try #require(first.header("x-backend"))
            for _ in 0..<4 {
                let again = try TestClient(port: port)
                try again.send("GET /app/other HTTP/1.1\r\nHost: a\r\nCookie: \(parts[0])\r\nConnection: close\r\n\r\n")
                let response = try again.readResponse()
                #expect(response.header("x-backend") == backend, "the cookie \(parts[0]) moved")
                #expect(response.header("set-cookie") == nil, "a client that has the cookie got another")
            }
        }
        await Self.stop(node, backends)
    }

    @Test("hash_on consumer: each key-auth consumer keeps one backend, and consumers spread over several")
    func consumer() async throws {
        let consumers = (0..<12).map { i in
            "  - username: user\(i)\n    keyauth_credentials:\n      - key: key-\(i)"
        }.joined(separator: "\n")
        let (node, port, backends) = try await Self.start("""
                hash_on: consumer
                hash_fallback: ip
            """, routeLines: "        plugins:\n          - name: key-auth", trailer: "consumers:\n" + consumers)
        // Hashing on the one client address would put them all on one backend.
        try Self.expectSticky(port, (0..<12).map { i in
            ["/", "/a", "/b", "/c"].map { Self.get($0, "apikey: key-\(i)\r\n") }
        })
        await Self.stop(node, backends)
    }

    @Test("hash_on uri_capture: the named group of the route's regex path is the key")
    func uriCapture() async throws {
        let (node, port, backends) = try await Self.start("""
                hash_on: uri_capture
                hash_on_uri_capture: id
            """, paths: #"["~/users/(?<id>\\d+)"]"#)
        try Self.expectSticky(port, (0..<12).map { id in
            ["orders", "profile", "cart?x=1", ""].map { Self.get("/users/\(id)/\($0)") }
        })
        await Self.stop(node, backends)
    }
}
