import ArgumentParser
import Store

/// `switchyard migrations up|status`: the database schema. For PostgreSQL, `up` holds an advisory lock, so
/// nodes of a cluster may all run it at start: one applies, the others wait and find nothing to do.
struct MigrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrations",
        abstract: "Show or apply the configuration database's schema migrations.",
        subcommands: [Up.self, Status.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations (creates the SQLite file if needed).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let settings = try options.settings()
            let name = settings.postgresLocation?.description ?? settings.database
            do {
                let applied = if let location = settings.postgresLocation {
                    try await PostgresStore.migrate(location, logger: StoreOpener.quietLogger)
                } else {
                    try SQLiteStore.migrate(path: settings.database)
                }
                if applied.isEmpty {
                    print("\(name): schema up to date")
                } else {
                    for migration in applied { print("\(name): applied \(migration)") }
                }
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations; exits 3 when some are pending.")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let settings = try options.settings()
            let name = settings.postgresLocation?.description ?? settings.database
            let status: MigrationStatus
            var unknown: [String] = []
            do {
                if let location = settings.postgresLocation {
                    let found = try await PostgresStore.migrationStatus(location, logger: StoreOpener.quietLogger)
                    status = found.status
                    unknown = found.unknown
                } else {
                    status = try SQLiteStore.migrationStatus(path: settings.database)
                }
            } catch {
                throw ValidationError(error.message)
            }
            print("database: \(name)")
            for migration in status.applied { print("  applied  \(migration)") }
            for migration in status.pending { print("  pending  \(migration)") }
            for migration in unknown { print("  unknown  \(migration) (applied by a newer switchyard)") }
            if !unknown.isEmpty {
                print("this switchyard is older than the schema: run the newer version")
                throw ExitCode(4)
            }
            if !status.isUpToDate {
                print("run `switchyard migrations up` to apply pending migrations")
                throw ExitCode(3)
            }
            print("schema up to date")
        }
    }
}
