/// The `pg_*` and `db_*` settings, as Kong names them: used when `database` is `postgres` (the URL form
/// carries the connection in itself) and, for the `db_*` ones, whenever the store is PostgreSQL.
public struct PostgresSettings: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 5432
    public var user = "switchyard"
    public var password: String?
    public var database = "switchyard"
    public var ssl = false
    public var sslVerify = false
    /// Seconds between checks for changes when a notification was missed (`db_update_frequency`, Kong's 5 s).
    public var updateFrequency: Double = 5
    /// The node's copy of its last applied configuration (`db_cache_file`): it starts from it while the
    /// database is down.
    public var cacheFile = "switchyard-cache.json"

    public init() {}

    public static let keys = ["pg_host", "pg_port", "pg_user", "pg_password", "pg_database", "pg_ssl", "pg_ssl_verify",
                              "db_update_frequency", "db_cache_file"]

    /// Applies one setting; nil when `key` is not one of these, else the outcome (a reason when refused).
    mutating func apply(key: String, value: String) -> Result<Void, ConfigIssueText>? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch key {
        case "pg_host":
            guard !trimmed.isEmpty else { return .failure(ConfigIssueText("must not be empty")) }
            host = trimmed
        case "pg_port":
            guard let port = Int(trimmed), (1...65_535).contains(port) else {
                return .failure(ConfigIssueText("expected a port between 1 and 65535, got \"\(value)\""))
            }
            self.port = port
        case "pg_user":
            guard !trimmed.isEmpty else { return .failure(ConfigIssueText("must not be empty")) }
            user = trimmed
        case "pg_password": password = value.isEmpty ? nil : value
        case "pg_database":
            guard !trimmed.isEmpty else { return .failure(ConfigIssueText("must not be empty")) }
            database = trimmed
        case "pg_ssl", "pg_ssl_verify":
            guard let on = Self.flag(trimmed) else { return .failure(ConfigIssueText("expected on or off, got \"\(value)\"")) }
            if key == "pg_ssl" { ssl = on } else { sslVerify = on }
        case "db_update_frequency":
            guard let seconds = Double(trimmed), seconds.isFinite, seconds >= 0.1, seconds <= 3600 else {
                return .failure(ConfigIssueText("expected a number of seconds between 0.1 and 3600, got \"\(value)\""))
            }
            updateFrequency = seconds
        case "db_cache_file":
            guard !trimmed.isEmpty else { return .failure(ConfigIssueText("must not be empty")) }
            cacheFile = trimmed
        default:
            return nil
        }
        return .success(())
    }

    /// The server `database` names: its URL, or these settings for `postgres`; nil for a SQLite file.
    public func location(database: String) -> Result<PostgresLocation, ConfigIssueText>? {
        guard PostgresLocation.isPostgres(database) else { return nil }
        if database != "postgres" { return PostgresLocation.parse(url: database) }
        return .success(PostgresLocation(host: host, port: port, user: user, password: password, database: self.database,
                                         ssl: ssl, sslVerify: sslVerify))
    }

    static func flag(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "on", "yes", "1": true
        case "false", "off", "no", "0": false
        default: nil
        }
    }
}
