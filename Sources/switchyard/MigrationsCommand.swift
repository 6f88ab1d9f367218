import ArgumentParser
import Store

/// `switchyard migrations up|status`: the database schema.
struct MigrationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrations",
        abstract: "Show or apply the configuration database's schema migrations.",
        subcommands: [Up.self, Status.self]
    )

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations (creates the database if needed).")
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let path = try options.settings().database
            do {
                let applied = try ConfigStore.migrate(path: path)
                if applied.isEmpty {
                    print("\(path): schema up to date")
                } else {
                    for name in applied { print("\(path): applied \(name)") }
                }
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations; exits 3 when some are pending.")
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let path = try options.settings().database
            let status: MigrationStatus
            do {
                status = try ConfigStore.migrationStatus(path: path)
            } catch {
                throw ValidationError(error.message)
            }
            print("database: \(path)")
            for name in status.applied { print("  applied  \(name)") }
            for name in status.pending { print("  pending  \(name)") }
            if !status.isUpToDate {
                print("run `switchyard migrations up` to apply pending migrations")
                throw ExitCode(3)
            }
            print("schema up to date")
        }
    }
}
