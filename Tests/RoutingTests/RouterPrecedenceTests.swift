import Config
import Testing
@testable import Routing

@Suite("Router precedence")
struct RouterPrecedenceTests {
    @Test func longestPrefixWins() throws {
        let router = try makeRouter("""
        - {name: root, service: svc, paths: [/]}
        - {name: api, service: svc, paths: [/api]}
        - {name: apiv1, service: svc, paths: [/api/v1]}
        """)
        #expect(router.name(path: "/api/v1/users") == "apiv1")
        #expect(router.name(path: "/api/v2") == "api")
        #expect(router.name(path: "/apix") == "api")  // prefixes are plain string prefixes, as in Kong
        #expect(router.name(path: "/other") == "root")
    }

    @Test func regexBeatsPrefixAndRegexPriorityOrdersRegexes() throws {
        let router = try makeRouter("""
        - {name: prefix, service: svc, paths: [/users/profile]}
        - {name: low, service: svc, paths: ["~/users/[a-z]+$"], regex_priority: 1}
        - {name: high, service: svc, paths: ["~/users/p.*"], regex_priority: 5}
        """)
        #expect(router.name(path: "/users/profile") == "high")
        #expect(router.name(path: "/users/abc") == "low")
        #expect(router.name(path: "/users/profile/1") == "high")
        #expect(router.name(path: "/users/123") == "404")
    }

    @Test func regexPriorityDoesNotReorderPrefixes() throws {
        // Kong issue 7687: regex_priority only disambiguates regex paths.
        let router = try makeRouter("""
        - {name: slash, service: svc, hosts: [foo.com], paths: [/], regex_priority: 1}
        - {name: v1, service: svc, hosts: [foo.com], paths: [/v1], regex_priority: 0}
        - {name: other, service: svc, hosts: [bar.com], paths: ["~/.*"]}
        """)
        #expect(router.name(host: "foo.com", path: "/v1/x") == "v1")
        #expect(router.name(host: "foo.com", path: "/x") == "slash")
        #expect(router.name(host: "bar.com", path: "/v1") == "other")
    }

    @Test func moreMatchedFieldsWin() throws {
        let router = try makeRouter("""
        - {name: path, service: svc, paths: [/api/long/prefix]}
        - {name: hostpath, service: svc, hosts: [a.com], paths: [/api]}
        - {name: methodhostpath, service: svc, methods: [POST], hosts: [a.com], paths: [/]}
        """)
        #expect(router.name("GET", host: "a.com", path: "/api/long/prefix") == "hostpath")
        #expect(router.name("POST", host: "a.com", path: "/api/long/prefix") == "methodhostpath")
        #expect(router.name("GET", host: "b.com", path: "/api/long/prefix") == "path")
    }

    @Test func exactHostBeatsWildcard() throws {
        let router = try makeRouter("""
        - {name: wild, service: svc, hosts: ["*.example.com"], paths: [/api/longer]}
        - {name: exact, service: svc, hosts: [api.example.com], paths: [/api]}
        - {name: suffixwild, service: svc, hosts: ["example.*"], paths: [/]}
        """)
        #expect(router.name(host: "api.example.com", path: "/api/longer") == "exact")
        #expect(router.name(host: "www.example.com", path: "/api/longer") == "wild")
        #expect(router.name(host: "a.b.example.com", path: "/api/longer") == "wild")
        #expect(router.name(host: "example.com", path: "/api/longer") == "suffixwild")
        #expect(router.name(host: "example", path: "/api/longer") == "404")
        #expect(router.name(host: "example.org", path: "/x") == "suffixwild")
    }

    @Test func moreHeadersWin() throws {
        let router = try makeRouter("""
        - {name: one, service: svc, paths: [/], headers: {x-a: ["1"]}}
        - {name: two, service: svc, paths: [/], headers: {x-a: ["1"], x-b: ["2"]}}
        - {name: none, service: svc, paths: [/api/deeper]}
        """)
        #expect(router.name(path: "/api/deeper", headers: ["X-A": ["1"], "X-B": ["2"]]) == "two")
        #expect(router.name(path: "/api/deeper", headers: ["X-A": ["1"]]) == "one")
        #expect(router.name(path: "/api/deeper") == "none")
    }

    @Test func tiesGoToTheRouteDeclaredFirst() throws {
        let router = try makeRouter("""
        - {name: first, service: svc, paths: [/same]}
        - {name: second, service: svc, paths: [/same]}
        """)
        #expect(router.name(path: "/same") == "first")
    }

    @Test func eachPathOfARouteRanksOnItsOwn() throws {
        let router = try makeRouter("""
        - {name: multi, service: svc, paths: [/a, /b/c/d/e]}
        - {name: mid, service: svc, paths: [/b/c]}
        """)
        #expect(router.name(path: "/b/c/d/e/f") == "multi")
        #expect(router.name(path: "/b/c/x") == "mid")
        #expect(router.name(path: "/a/x") == "multi")
    }

    @Test(arguments: [
        ("GET", "a.com", "/x", [String: [String]](), "get"),
        ("POST", "a.com", "/x", [:], "404"),
        ("GET", "A.COM:8080", "/x", [:], "get"),
        ("GET", "a.com.", "/x", [:], "get"),
        ("GET", "b.com", "/x", [:], "404"),
        ("PUT", "b.com", "/hdr", ["x-env": ["STAGING"]], "hdr"),
        ("PUT", "b.com", "/hdr", ["x-env": ["prod"]], "404"),
        ("PUT", "b.com", "/hdr", ["x-env": ["canary-7"]], "hdr"),
        ("PUT", "b.com", "/hdr", ["x-env": ["other", "staging"]], "hdr"),
        ("GET", "port.com:8443", "/", [:], "port"),
        ("GET", "port.com", "/", [:], "404"),
    ])
    func matchingTable(method: String, host: String, path: String, headers: [String: [String]], expected: String) throws {
        let router = try makeRouter("""
        - {name: get, service: svc, methods: [GET], hosts: [a.com], paths: [/x]}
        - {name: hdr, service: svc, headers: {X-Env: [staging, "~*^canary-\\\\d+$"]}}
        - {name: port, service: svc, hosts: ["port.com:8443"]}
        """)
        #expect(router.name(method, host: host, path: path, headers: headers) == expected)
    }

    @Test func httpsOnlyRouteAsksForRedirect() throws {
        let router = try makeRouter("""
        - {name: secure, service: svc, paths: [/secure], protocols: [https], https_redirect_status_code: 308}
        - {name: plain, service: svc, paths: [/plain], protocols: [http]}
        """)
        #expect(router.name(path: "/secure/x") == "redirect:308")
        #expect(router.name(path: "/secure/x", scheme: .https) == "secure")
        #expect(router.name(path: "/plain", scheme: .https) == "404")
    }

    @Test func fullMatchBeatsAProtocolOnlyMismatch() throws {
        let router = try makeRouter("""
        - {name: secure, service: svc, paths: [/a/b], protocols: [https]}
        - {name: plain, service: svc, paths: [/a], protocols: [http]}
        """)
        #expect(router.name(path: "/a/b") == "plain")
    }

    @Test func disabledServicesAreNotRouted() throws {
        let router = try makeRouter("""
        - {name: off, service: svc, paths: [/]}
        """, service: "{name: svc, host: b.internal, enabled: false}")
        #expect(router.name(path: "/") == "404")
        #expect(router.routeCount == 0)
    }

    @Test func routeWithoutServiceStillMatches() throws {
        let router = try makeRouter("""
        - {name: lonely, paths: [/lonely]}
        """)
        let match = try #require(router.match(path: "/lonely"))
        #expect(match.target.service == nil && match.target.destination == nil)
    }

    @Test func normalizedPathsCannotEscapeAPrefix() throws {
        let router = try makeRouter("""
        - {name: public, service: svc, paths: [/public]}
        - {name: admin, service: svc, paths: [/admin]}
        """)
        #expect(router.name(path: "/public/../admin/x") == "admin")
        #expect(router.name(path: "/public/%2e%2e/admin") == "admin")
        #expect(router.name(path: "/%70ublic/x") == "public")
        #expect(router.name(path: "/public/./x?y=1") == "public")
    }

    @Test func keyAuthRequirementTravelsWithTheTarget() throws {
        let router = try makeRouter("""
        - {name: guarded, service: svc, paths: [/g], plugins: [{name: key-auth, config: {key_names: [token]}}]}
        - {name: open, service: svc, paths: [/o]}
        """)
        #expect(router.match(path: "/g")?.target.keyAuth?.keyNames == ["token"])
        #expect(router.match(path: "/o")?.target.keyAuth == nil)
    }

    @Test func findsConsumersByKey() throws {
        let router = try makeRouter("- {name: r, service: svc, paths: [/]}", extra: """
        consumers:
        - {username: alice, keyauth_credentials: [{key: alice-key}]}
        """)
        #expect(router.consumer(forKey: "alice-key")?.username == "alice")
        #expect(router.consumer(forKey: "ALICE-KEY") == nil)
    }

    @Test func manyRoutesStillPickTheRightOne() throws {
        var yaml = ""
        for i in 0..<500 {
            yaml += "- {name: r\(i), service: svc, hosts: [h\(i).example.com], paths: [/p\(i % 7)]}\n"
        }
        yaml += "- {name: fallback, service: svc, paths: [/]}\n"
        let router = try makeRouter(yaml)
        #expect(router.name(host: "h123.example.com", path: "/p4/x") == "r123")
        #expect(router.name(host: "h123.example.com", path: "/p5/x") == "fallback")
        #expect(router.name(host: "nobody.example.com", path: "/p4") == "fallback")
    }
}

@Suite("Regex path captures")
struct RegexCaptureTests {
    @Test func namedGroupsAreFoundAndLookbehindsAreNot() {
        #expect(CompiledRegex.groupNames(in: #"/users/(?<id>\d+)/(?<tab>[a-z]+)"#) == ["id", "tab"])
        #expect(CompiledRegex.groupNames(in: #"(?<=a)b(?<!c)(?<x_1>y)(plain)"#) == ["x_1"])
        #expect(CompiledRegex.groupNames(in: "/plain").isEmpty)
    }

    @Test func aMatchCarriesTheGroupsThatTookPart() throws {
        let regex = try #require(CompiledRegex(#"/users/(?<id>\d+)(/(?<tab>[a-z]+))?"#))
        let full = try #require(regex.prefixMatch(in: "/users/42/cart/x"))
        #expect(full.captures.map(\.name) == ["id", "tab"])
        #expect(full.captures.map { String($0.value) } == ["42", "cart"])
        let short = try #require(regex.prefixMatch(in: "/users/7"))
        #expect(short.captures.map { String($0.value) } == ["7"], "a group that did not take part is left out")
        #expect(regex.prefixMatch(in: "/orders/1") == nil)
    }
}
