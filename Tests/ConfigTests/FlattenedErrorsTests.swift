import Config
import Testing

@Suite("Flattened declarative errors")
struct FlattenedErrorsTests {
    static let text = """
        _format_version: "3.0"
        certificates: [{cert: x}]
        services:
        - name: api
          id: 0d9f8e7c-2222-4b6a-8c5d-1e2f3a4b5c6d
          host: api.internal
          routes:
          - name: api-route
            id: 1a2b3c4d-3333-4c5d-9e8f-7a6b5c4d3e2f
            paths: ["/api"]
            plugins:
            - name: key-auth
              config: {key_names: 7}
        consumers:
        - username: bob
          keyauth_credentials:
          - key: 12
            ttl: yes
        """

    func flattened() throws -> FlattenedErrors {
        let error = try #require(throws: ConfigError.self) { try DeclarativeConfig.parse(Self.text) }
        return DeclarativeConfig.flattenErrors(error.issues, in: Self.text)
    }

    @Test func nestedEntitiesAreListedWithTheirParentsID() throws {
        let flat = try flattened()
        let plugin = try #require(flat.entities.first { $0.type == "plugin" }, "\(flat)")
        #expect(plugin.path == "services[0].routes[0].plugins[0]")
        #expect(plugin.name == "key-auth")
        #expect(plugin.errors.allSatisfy { $0.field?.hasPrefix("config") == true && $0.type == "field" }, "\(plugin.errors)")
        #expect(plugin.json.contains(#""route":{"id":"1a2b3c4d-3333-4c5d-9e8f-7a6b5c4d3e2f"}"#), "\(plugin.json)")
        // Neither the route nor the service has an error of its own.
        #expect(!flat.entities.contains { $0.type == "route" || $0.type == "service" })
    }

    @Test func anEntityWithANaNIsShownWithTheNumberAsText() throws {
        let text = "_format_version: \"3.0\"\nservices:\n- name: api\n  host: api.internal\n  port: 70000\n  read_timeout: .nan\n"
        let error = try #require(throws: ConfigError.self) { try DeclarativeConfig.parse(text) }
        let flat = DeclarativeConfig.flattenErrors(error.issues, in: text)
        let service = try #require(flat.entities.first { $0.type == "service" }, "\(flat)")
        #expect(service.json.contains(#""read_timeout":"nan""#), "\(service.json)")
        #expect(service.json.contains(#""port":70000"#), "\(service.json)")
    }

    @Test func credentialsWithoutParentIDAndOthersKeptApart() throws {
        let flat = try flattened()
        let credential = try #require(flat.entities.first { $0.type == "keyauth_credential" }, "\(flat)")
        #expect(credential.path == "consumers[0].keyauth_credentials[0]")
        #expect(!credential.json.contains("consumer"), "the consumer gives no id")
        #expect(flat.others.map(\.path).contains("certificates"), "\(flat.others)")
        #expect(flat.others.allSatisfy { $0.severity == .error })
    }

    @Test func unparsableTextLeavesEveryErrorOutside() {
        let issue = ConfigIssue.error(.invalid, "services[0].port", "bad")
        let flat = DeclarativeConfig.flattenErrors([issue], in: "services: [unclosed")
        #expect(flat.entities.isEmpty && flat.others == [issue])
    }
}
