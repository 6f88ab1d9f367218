import ArgumentParser
import Config
import Foundation
import Store

/// `switchyard config import|export`: move a whole configuration between a Kong declarative file and the
/// database. An import is all-or-nothing: a file with any error changes nothing and every error is listed.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Import or export the database's configuration in Kong's declarative format.",
        subcommands: [Import.self, Export.self, ImportTargets.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the database's configuration with a declarative file (YAML or JSON).",
            discussion: "Nothing is written unless the whole file is valid. A running node picks the change up on its next reload (SIGHUP) or Admin API write."
        )
        @Argument(help: "Kong declarative file.") var file: String
        @Flag(help: "Validate only; do not write.") var dryRun = false
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let loaded: DeclarativeConfig.Loaded
            do {
                loaded = try ConfigFile.declarative(file)
            } catch {
                throw ValidationError("\(file) was not imported (nothing changed):\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
            }
            for warning in loaded.warnings {
                FileHandle.standardError.write(Data("switchyard: \(file): warning: \(warning)\n".utf8))
            }
            let c = loaded.config
            let summary = "\(c.services.count) services, \(c.routes.count) routes, \(c.upstreams.count) upstreams, \(c.targets.count) targets, \(c.consumers.count) consumers"
            if dryRun {
                print("\(file): valid (\(summary))")
                return
            }
            let settings = try options.settings()
            do {
                let store = try await StoreOpener.forCommand(settings)
                defer { Task { await StoreOpener.close(store) } }
                let snapshot = try await store.replace(with: c)
                print("\(store.location): imported \(file) (\(summary)), generation \(snapshot.generation)")
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the database's configuration as a declarative file.")
        @Option(help: "yaml or json.") var format = "yaml"
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let kind: DeclarativeConfig.ExportFormat
            switch format.lowercased() {
            case "yaml", "yml": kind = .yaml
            case "json": kind = .json
            default: throw ValidationError("--format must be yaml or json, not \"\(format)\"")
            }
            let settings = try options.settings()
            let text: String
            do {
                let store = try await StoreOpener.forCommand(settings, migrate: false)
                text = store.snapshot.config.export(as: kind)
                await StoreOpener.close(store)
            } catch {
                throw ValidationError(error.message)
            }
            if let output {
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            }
        }
    }

    struct ImportTargets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-targets",
            abstract: "Add targets from CSV lines upstream,target[,weight] (all or nothing).",
            discussion: "Missing upstreams are created with defaults; a target already present gets the new weight."
        )
        @Argument(help: "CSV file.") var file: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let settings = try options.settings()
            let store: any ConfigStore
            do {
                store = try await StoreOpener.forCommand(settings)
            } catch {
                throw ValidationError(error.message)
            }
            defer { Task { await StoreOpener.close(store) } }
            let before = store.snapshot.config.targets.count
            do {
                let snapshot = try await store.update { config throws(ConfigError) in
                    try TargetCSV.merge(text, into: config, source: file)
                }
                print("\(store.location): \(file) merged (\(snapshot.config.targets.count - before) new targets), generation \(snapshot.generation)")
            } catch let error as ConfigError {
                throw ValidationError("\(file) was not imported (nothing changed):\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
    }
}
