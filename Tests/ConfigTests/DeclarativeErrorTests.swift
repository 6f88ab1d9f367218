import Foundation
import Testing
@testable import Config

@Suite("Declarative errors")
struct DeclarativeErrorTests {
    /// The error descriptions of a file that must fail.
    func errors(_ text: String, options: ValidationOptions = .init()) -> [String] {
        do {
            _ = try DeclarativeConfig.parse(text, options: options)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func formatVersionRequiredAndChecked() {
        #expect(errors("services: []") == ["_format_version: required, e.g. _format_version: \"3.0\""])
        #expect(errors("_format_version: \"4.0\"")
            == ["_format_version: expected one of \"1.1\", \"2.1\", \"3.0\", got \"4.0\""])
    }

    @Test func syntaxErrorIsReported() {
        let found = errors("_format_version: \"3.0\"\nservices: [ {name: a")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("not valid YAML or JSON: 3:1: error: parser") == true, "\(found)")
    }

    @Test func invalidRegexNamesEntityAndFieldPath() {
        let found = errors("""
        _format_version: "3.0"
        services:
        - {name: a, host: a.internal}
        - name: b
          host: b.internal
          routes:
          - paths: [/ok, /fine, "~/a("]
        """)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("services[1].routes[0].paths[2]: invalid regex \"~/a(\"") == true)
    }

    @Test func collectsEveryError() {
        let found = errors("""
        _format_version: "3.0"
        services:
        - {name: a, host: a.internal, port: 0, connect_timeout: 0, colour: blue}
        - {name: a, host: "bad host"}
        upstreams:
        - name: pool
          algorithm: random
          targets:
          - {target: "x:1", weight: 70000}
          - {target: "x:99999"}
        certificates:
        - {cert: abc}
        plugins:
        - {name: rate-limiting, config: {minute: 5}}
        routes:
        - {service: missing, paths: [/x]}
        - {service: a}
        """)
        func has(_ prefix: String) -> Bool { found.contains { $0.hasPrefix(prefix) } }
        #expect(has("services[0].colour: unknown field"))
        #expect(has("upstreams[0].algorithm: expected one of \"round-robin\""))
        #expect(has("upstreams[0].targets[1].target: invalid port \"99999\""))
        #expect(has("certificates: not supported by Switchyard"))
        #expect(has("plugins[0].name: plugin \"rate-limiting\" is not supported by Switchyard"))
        #expect(has("routes[0].service: no service named or with id \"missing\""))
        #expect(found.count >= 6)
    }

    @Test func fieldAndCrossEntityValidation() {
        let found = errors("""
        _format_version: "3.0"
        services:
        - {name: a, host: a.internal, port: 0, connect_timeout: 0, path: "v1"}
        - {name: a, host: "bad host"}
        upstreams:
        - name: pool
          targets:
          - {target: "x:1", weight: 70000}
          - {target: "x:1"}
        routes:
        - {service: a}
        - {service: a, methods: [get], hosts: ["*.*.example.com"], paths: ["api"]}
        consumers:
        - {username: u}
        - {username: u}
        - {tags: [t]}
        """)
        func has(_ text: String) -> Bool { found.contains(text) }
        #expect(has("services[0].port: port must be between 1 and 65535, got 0"))
        #expect(has("services[0].connect_timeout: must be between 1 and 2147483646 milliseconds, got 0"))
        #expect(has("services[0].path: must start with \"/\", got \"v1\""))
        #expect(has("services[1].host: invalid hostname or IP address \"bad host\""))
        #expect(has("services[1].name: service with name \"a\" already exists (services[0])"))
        #expect(has("upstreams[0].targets[0].weight: must be between 0 and 65535, got 70000"))
        #expect(found.contains { $0.hasPrefix("upstreams[0].targets[1].target: target with target") })
        #expect(has("routes[0]: must set at least one of 'methods', 'hosts', 'paths' or 'headers'"))
        #expect(has("routes[1].methods[0]: invalid method \"get\": use upper-case letters only, e.g. GET"))
        #expect(has("routes[1].hosts[0]: only one wildcard is allowed in \"*.*.example.com\""))
        #expect(has("routes[1].paths[0]: must start with \"/\" (prefix) or \"~\" (regex), got \"api\""))
        #expect(has("consumers[1].username: consumer with username \"u\" already exists (consumers[0])"))
        #expect(has("consumers[2]: must set at least one of 'username' or 'custom_id'"))
    }

    @Test func conflictsHaveConflictKind() throws {
        do {
            _ = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            upstreams: [{name: u}, {name: u}]
            """)
            Issue.record("expected a conflict")
        } catch {
            #expect(error.errors.map(\.kind) == [.conflict])
        }
    }

    @Test func httpsServiceLoadsWithItsTLSSettings() throws {
        let text = """
        _format_version: "3.0"
        services:
        - {name: s, protocol: https, host: h.internal}
        - {name: v, protocol: https, host: v.internal, tls_verify: true}
        """
        let loaded = try DeclarativeConfig.parse(text)
        #expect(loaded.config.services[0].port == 443)
        #expect(loaded.config.services[0].tlsVerify == nil)
        #expect(loaded.config.services[1].tlsVerify == true)
        let exported = loaded.config.export()
        #expect(exported.contains("tls_verify: true"))
        #expect(try DeclarativeConfig.parse(exported).config.services[1].tlsVerify == true)
        #expect(errors(text, options: ValidationOptions(tlsUpstreams: false)).first?.contains("no TLS to upstreams") == true)
    }

    @Test func unsupportedKongFeatures() {
        let found = errors("""
        _format_version: "3.0"
        services:
        - name: s
          protocol: grpc
          host: h.internal
          routes:
          - {paths: [/a], snis: [a.example.com], path_handling: v1}
          - {paths: [/b], protocols: [tcp]}
        consumers:
        - username: u
          acls: [{group: admins}]
        """)
        #expect(found.contains("services[0].protocol: not supported by Switchyard: protocol \"grpc\" (use \"http\")"))
        #expect(found.contains("services[0].routes[0].snis: not supported by Switchyard: TLS is terminated in front of Switchyard"))
        #expect(found.contains("services[0].routes[0].path_handling: not supported by Switchyard: \"v1\" (only \"v0\", Kong 3's default)"))
        #expect(found.contains("services[0].routes[1].protocols[0]: not supported by Switchyard: protocol \"tcp\" (use \"http\" or \"https\")"))
        #expect(found.contains("consumers[0].acls: not supported by Switchyard: the acl plugin is not available"))
    }

    @Test func emptyUnsupportedCollectionsAreFine() throws {
        let loaded = try DeclarativeConfig.parse("""
        _format_version: "3.0"
        certificates: []
        services: [{name: s, host: h.internal, routes: [{paths: [/], snis: null}]}]
        """)
        #expect(loaded.config.routes.count == 1)
    }

    @Test func wrongTypesAreNamed() {
        let found = errors("""
        _format_version: "3.0"
        services: {name: s}
        upstreams: [{name: u, slots: many}]
        """)
        #expect(found.contains("services: expected an array, got an object"))
        #expect(found.contains("upstreams[0].slots: expected an integer, got a string"))
    }

    @Test func duplicateKeysAreRejected() {
        let found = errors("""
        _format_version: "3.0"
        services: [{name: s, host: a.internal, host: b.internal}]
        """)
        #expect(found == ["services[0].host: field given more than once"])
    }

    @Test func programmaticConfigurationsUseTheSameChecks() {
        let upstream = Upstream(name: "pool")
        let config = DeclarativeConfig(
            services: [Service(name: "s", host: "pool", port: 70000)],
            routes: [Route(name: "r", service: UUID(), paths: ["/x"])],
            upstreams: [upstream],
            targets: [Target(upstream: upstream.id, host: "10.0.0.1", weight: -1)])
        let issues = config.validationIssues().map(\.description)
        #expect(issues == [
            "services[0].port: port must be between 1 and 65535, got 70000",
            "routes[0].service: no service with id \(config.routes[0].service?.uuidString.lowercased() ?? "")",
            "targets[0].weight: must be between 0 and 65535, got -1",
        ])
        #expect(config.validationIssues().map(\.kind) == [.invalid, .notFound, .invalid])
    }

    /// A file's text parsed with its name: every issue names the file (reading it is the caller's job; the
    /// missing-file message is checked on the binary, in GatewayTests' ConfigFileCommandTests).
    @Test func parseWithAFileNameNamesTheFileInEveryIssue() {
        do {
            _ = try DeclarativeConfig.parse("_format_version: \"3.0\"\nservices: 5\n", fileName: "/etc/kong.yaml")
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .invalid)
            #expect(!error.issues.isEmpty)
            #expect(error.issues.allSatisfy { $0.description.hasPrefix("/etc/kong.yaml: ") }, "\(error.issues)")
        }
        do {
            _ = try DeclarativeConfig.parse("[unclosed", fileName: "/etc/kong.yaml")
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .syntax)
            #expect(error.description.hasPrefix("/etc/kong.yaml"), "\(error.description)")
        }
    }
}
