import ArgumentParser
import Config
import Foundation

/// `--database` and `--settings` for commands that work on the configuration database; the database path
/// resolves like every node setting (flag > `SWITCHYARD_DATABASE` > settings file > `switchyard.db`); a
/// `postgres://` URL, or `postgres` with the `pg_*` settings, names a cluster's PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SQLite database file (default: switchyard.db), or postgres://USER:PASSWORD@HOST:PORT/DB.", valueName: "path-or-url"))
    var database: String?

    @Option(name: .customLong("settings"), help: "Node settings file (YAML key: value).")
    var settingsPath: String?

    func settings(extra: [String: String] = [:]) throws -> NodeSettings {
        var values = extra
        if let database { values["database"] = database }
        do {
            return try ConfigFile.settings(settingsPath, environment: ProcessInfo.processInfo.environment,
                                          commandLine: SettingsLayer(source: "command line", values: values))
        } catch {
            throw ValidationError("invalid settings:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        }
    }
}
