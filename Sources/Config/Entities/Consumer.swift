import Foundation

/// Someone who calls routes: identified by `username` and/or `custom_id`, authenticated by key-auth credentials.
public struct Consumer: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var username: String?
    public var customID: String?
    public var tags: [String]

    public init(id: UUID = UUID(), username: String? = nil, customID: String? = nil, tags: [String] = []) {
        self.id = id
        self.username = username
        self.customID = customID
        self.tags = tags
    }

    public var displayName: String { username ?? customID ?? id.uuidString.lowercased() }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if (username ?? "").isEmpty && (customID ?? "").isEmpty {
            issues.append(.error(.required, base, "must set at least one of 'username' or 'custom_id'"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}

/// A consumer's API key (Kong's `keyauth_credentials`).
public struct KeyAuthCredential: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var consumer: UUID
    public var key: String
    public var tags: [String]

    public init(id: UUID = UUID(), consumer: UUID, key: String, tags: [String] = []) {
        self.id = id
        self.consumer = consumer
        self.key = key
        self.tags = tags
    }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if key.isEmpty {
            issues.append(.error(.required, joinPath(base, "key"), "must not be empty"))
        } else if key.contains(where: { $0.isWhitespace || $0.isNewline }) {
            issues.append(.error(.invalid, joinPath(base, "key"), "must not contain whitespace"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}
