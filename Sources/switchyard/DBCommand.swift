import ArgumentParser
import Config
import Foundation
import Store

/// `switchyard db backup|restore`: the whole store (configuration and Admin API tokens) to one file and back,
/// for SQLite and PostgreSQL alike; a restore is all or nothing.
struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Back up or restore the database (configuration and Admin API tokens).",
        subcommands: [Backup.self, Restore.self]
    )

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the configuration (Kong declarative JSON) and token hashes to a file.",
            discussion: "The file holds consumers' credentials and is created readable by its owner only. Token secrets are never stored, only their hashes, so restored tokens keep working."
        )
        @Argument(help: "File to write (- for standard output).") var file: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let settings = try options.settings()
            let backup: StoreBackup
            do {
                let store = try await StoreOpener.forCommand(settings, migrate: false)
                let tokens = try await store.storedTokens()
                let snapshot = store.snapshot
                backup = StoreBackup(config: snapshot.config, tokens: tokens, version: snapshot.generation,
                                     database: store.location)
                await StoreOpener.close(store)
            } catch {
                throw ValidationError(error.message)
            }
            let text = backup.text()
            if file == "-" {
                print(text, terminator: "")
                return
            }
            try Self.writePrivately(text, to: file)
            let c = backup.config
            FileHandle.standardError.write(Data("switchyard: \(backup.database) (version \(backup.version)): \(c.services.count) services, \(c.routes.count) routes, \(c.upstreams.count) upstreams, \(c.targets.count) targets, \(c.consumers.count) consumers and \(backup.tokens.count) admin tokens written to \(file)\n".utf8))
        }

        /// Writes next to `path` with mode 0600, then renames over it: a reader never sees half a backup.
        static func writePrivately(_ text: String, to path: String) throws {
            let temporary = path + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw ValidationError("cannot write \(path): \(reason)")
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the configuration and Admin API tokens with those of a backup.",
            discussion: "Nothing is written unless the whole backup is valid. Cluster nodes take the restore up within a second; a node on SQLite takes it up on its next reload (SIGHUP)."
        )
        @Argument(help: "Backup file written by `switchyard db backup`.") var file: String
        @Flag(help: "Validate only; do not write.") var dryRun = false
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let backup: StoreBackup
            do {
                backup = try StoreBackup.parse(text, source: file)
            } catch {
                throw ValidationError(error.message)
            }
            let c = backup.config
            let summary = "\(c.services.count) services, \(c.routes.count) routes, \(c.upstreams.count) upstreams, \(c.targets.count) targets, \(c.consumers.count) consumers, \(backup.tokens.count) admin tokens"
            if dryRun {
                print("\(file): valid backup of \(backup.database.isEmpty ? "an unnamed database" : backup.database) (\(summary))")
                return
            }
            let settings = try options.settings()
            do {
                let store = try await StoreOpener.forCommand(settings)
                defer { Task { await StoreOpener.close(store) } }
                let snapshot = try await store.restore(c, tokens: backup.tokens)
                print("\(store.location): restored \(file) (\(summary)), version \(snapshot.generation)")
            } catch {
                throw ValidationError(error.message)
            }
        }
    }
}
