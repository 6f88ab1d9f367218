import DNSWire
import Testing
@testable import Balancer

@Suite struct TargetSpecTests {
    @Test func parsesKongTargetStrings() throws {
        let named = try #require(TargetSpec(target: "api.svc.test:8080"))
        #expect(named.host == "api.svc.test" && named.port == 8080 && named.weight == 100 && named.ip == nil)
        let bare = try #require(TargetSpec(target: "api.svc.test"))
        #expect(bare.port == TargetSpec.defaultPort)
        let v4 = try #require(TargetSpec(target: "10.1.2.3:81", weight: 7))
        #expect(v4.ip == ip("10.1.2.3") && v4.port == 81 && v4.weight == 7)
        let v6 = try #require(TargetSpec(target: "[2001:db8::1]:9000"))
        #expect(v6.ip == ip("2001:db8::1") && v6.port == 9000)
        #expect(v6.description == "[2001:db8::1]:9000")
        let v6bare = try #require(TargetSpec(target: "2001:db8::2"))
        #expect(v6bare.ip == ip("2001:db8::2") && v6bare.port == TargetSpec.defaultPort)
        let dotted = try #require(TargetSpec(target: "api.svc.test.:80"))
        #expect(dotted.host == "api.svc.test")
    }

    @Test(arguments: ["", ":80", "host:", "host:99999", "host:0", "[::1", "[zz::1]:80", "[::1]80", "a:b:c"])
    func rejectsMalformedTargets(_ text: String) {
        #expect(TargetSpec(target: text) == nil)
    }

    @Test func settingsProblemsNameTheKongField() {
        #expect(UpstreamSettings().problems.isEmpty)
        #expect(UpstreamSettings(slots: 5).problems.contains { $0.contains("slots") })
        #expect(UpstreamSettings(hashOn: .none, hashFallback: .ip).problems.contains { $0.contains("hash_fallback") })
        #expect(UpstreamSettings(hashOn: .ip, hashFallback: .ip).problems.contains { $0.contains("differ") })
        #expect(UpstreamSettings(hashOn: .cookie("c"), hashFallback: .ip).problems.count == 1)
        #expect(UpstreamSettings(hashOn: .header("")).problems.contains { $0.contains("hash_on_header") })
        #expect(UpstreamSettings(hashOn: .header("x-user"), hashFallback: .ip).problems.isEmpty)
    }

    @Test func hashKeyUsesFallbackWhenPrimaryIsAbsent() {
        let client = ip("192.0.2.7")
        func key(on: UpstreamSettings.HashInput, fallback: UpstreamSettings.HashInput,
                 header: String?, consumer: Substring? = nil) -> HashKey? {
            UpstreamSettings.hashKey(on: on, fallback: fallback, clientIP: client,
                                     header: { $0 == "x-user" ? header.map { Substring($0) } : nil },
                                     cookie: { _ in "y" }, path: "/a", queryArg: { _ in nil }, consumer: consumer)
        }
        #expect(key(on: .header("x-user"), fallback: .ip, header: "alice") == HashKey("alice"))
        #expect(key(on: .header("x-user"), fallback: .ip, header: nil) == HashKey(ip: client))
        #expect(key(on: .none, fallback: .none, header: "x") == nil)
        #expect(key(on: .consumer, fallback: .path, header: nil, consumer: "c-1") == HashKey("c-1"))
        #expect(key(on: .consumer, fallback: .path, header: nil) == HashKey("/a"))
    }

    @Test func hashOnIPNeverFallsBackWhileTheClientAddressIsKnown() {
        let client = ip("192.0.2.7")
        let key = UpstreamSettings.hashKey(on: .ip, fallback: .header("x-user"), clientIP: client,
                                           header: { _ in "alice" }, cookie: { _ in nil }, path: "/",
                                           queryArg: { _ in nil })
        #expect(key == HashKey(ip: client))
        let argumentThenPath = UpstreamSettings.hashKey(on: .queryArg("t"), fallback: .path, clientIP: client,
                                                      header: { _ in nil }, cookie: { _ in nil }, path: "/p",
                                                      queryArg: { _ in nil })
        #expect(argumentThenPath == HashKey("/p"))
    }

    @Test func hashKeysAreStableAndDistinct() {
        #expect(HashKey("user-1") == HashKey("user-1"[...]))
        #expect(HashKey("user-1") == HashKey(bytes: Array("user-1".utf8)))
        #expect(HashKey("user-1") != HashKey("user-2"))
        #expect(HashKey(ip: ip("10.0.0.1")) != HashKey(ip: ip("10.0.0.2")))
        #expect(HashKey(ip: ip("::a00:1")) != HashKey(ip: ip("10.0.0.1")))
    }
}
