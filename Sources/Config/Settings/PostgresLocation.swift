import Foundation

/// Where a cluster's PostgreSQL is and how to log in: from `database: postgres://USER:PASSWORD@HOST:PORT/DB`
/// or from `database: postgres` with Kong's `pg_*` settings.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Talk TLS to the server (`pg_ssl`, or `sslmode=require` in the URL).
    public var ssl: Bool
    /// Check the server's certificate against the system's trusted roots (`pg_ssl_verify`, `sslmode=verify-full`).
    public var sslVerify: Bool

    public init(host: String = "127.0.0.1", port: Int = 5432, user: String = "switchyard", password: String? = nil,
                database: String = "switchyard", ssl: Bool = false, sslVerify: Bool = false) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.ssl = ssl
        self.sslVerify = sslVerify
    }

    /// Whether a `database` value names PostgreSQL rather than a SQLite file.
    public static func isPostgres(_ database: String) -> Bool {
        database == "postgres" || database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|require|verify-full]`; the reason
    /// when it is not one.
    public static func parse(url text: String) -> Result<PostgresLocation, ConfigIssueText> {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            return .failure(ConfigIssueText("expected postgres://USER:PASSWORD@HOST:PORT/DATABASE"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(ConfigIssueText("\(redact(text)): no host (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)"))
        }
        var location = PostgresLocation(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
        if let port = components.port {
            guard (1...65_535).contains(port) else { return .failure(ConfigIssueText("port \(port) is out of range")) }
            location.port = port
        }
        if let user = components.user, !user.isEmpty { location.user = user }
        location.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if !path.isEmpty { location.database = path }
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable": location.ssl = false
            case "require", "prefer": location.ssl = true
            case "verify-full", "verify-ca": location.ssl = true; location.sslVerify = true
            default: return .failure(ConfigIssueText("sslmode must be disable, require or verify-full, got \"\(item.value ?? "")\""))
            }
        }
        return .success(location)
    }

    /// The location without its password, for logs, messages and `/status`.
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "postgres://\(user)@\(host):\(port)/\(database)" + (ssl ? "?sslmode=\(sslVerify ? "verify-full" : "require")" : "")
    }

    /// A URL with any password replaced, for an error about a value that did not parse.
    static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

/// The reason a setting's value was refused, as one line.
public struct ConfigIssueText: Error, Sendable, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
}
