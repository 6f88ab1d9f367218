import Admin
import Foundation
import Hummingbird
import Testing
import Yams

/// `docs/admin-api.yaml` against the server: every documented operation is served, and answers with a status
/// the document lists for it.
@Suite struct OpenAPIConformanceTests {
    static let seed = """
        _format_version: "3.0"
        services:
        - name: svc
          host: svc.internal
          routes:
          - name: rt
            paths: ["/rt"]
            plugins:
            - name: key-auth
        upstreams:
        - name: up.internal
          targets:
          - target: 127.0.0.1:9001
        consumers:
        - username: alice
          keyauth_credentials:
          - key: k1
        """

    static let values = ["service": "svc", "route": "rt", "upstream": "up.internal", "consumer": "alice",
                         "target": "127.0.0.1:9001", "credential": "k1", "plugin": "key-auth",
                         "address": "127.0.0.1:9001"]

    struct Operation: CustomStringConvertible {
        var method: String
        var path: String
        var statuses: Set<Int>
        var description: String { "\(method.uppercased()) \(path)" }
    }

    static func operations() throws -> [Operation] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/admin-api.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var out: [Operation] = []
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let op = item[method] as? [String: Any], let responses = op["responses"] as? [String: Any] else {
                    continue
                }
                out.append(Operation(method: method, path: path, statuses: Set(responses.keys.compactMap { Int($0) })))
            }
        }
        return out.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    @Test func everyDocumentedOperationIsServedWithADocumentedStatus() async throws {
        let operations = try Self.operations()
        #expect(operations.count > 60)
        let runtime = AdminRuntime(markTarget: { _, _, _ in nil }, markAddress: { _, _, _ in nil })
        for operation in operations {
            // A fresh store per operation, so deletes and replacements do not affect the next.
            let harness = try await AdminHarness.make()
            try await harness.store.importDeclarative(Self.seed)
            var uri = operation.path
            for (name, value) in Self.values { uri = uri.replacingOccurrences(of: "{\(name)}", with: value) }
            let method: HTTPRequest.Method = switch operation.method {
            case "post": .post
            case "put": .put
            case "patch": .patch
            case "delete": .delete
            default: .get
            }
            let body: String? = switch (operation.method, operation.path) {
            case ("post", "/config"): Self.seed
            case ("get", _), ("delete", _): nil
            default: "{}"
            }
            let requestURI = uri
            try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
                let answer = try await client.send(method, requestURI, body)
                let code = Int(answer.status.code)
                #expect(operation.statuses.contains(code), "\(operation) answered \(code) \(answer.text)")
                if code == 404 {
                    // The entity is missing, not the route: the API's own JSON body, never the router's.
                    #expect(answer.json["message"] != nil, "\(operation) is not served")
                }
                #expect(code < 500, "\(operation) answered \(code)")
            }
        }
    }
}
