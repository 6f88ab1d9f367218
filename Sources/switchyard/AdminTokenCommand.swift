import ArgumentParser
import Store

/// `switchyard admin-token create|list|remove`: Admin API tokens. Only a SHA-256 of each token is stored; a
/// new token is printed once. Once any token exists, every Admin API request needs one. With PostgreSQL the
/// token reaches every node of the cluster.
struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Manage Admin API tokens (roles: admin, read-only).",
        subcommands: [Create.self, List.self, Remove.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) a named token and print it once.")
        @Argument(help: "A name for the token (who or what uses it).") var name: String
        @Option(help: "admin or read-only.") var role = "admin"
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            guard let role = AdminRole(rawValue: role) else {
                throw ValidationError("--role must be admin or read-only, not \"\(role)\"")
            }
            let settings = try options.settings()
            do {
                let store = try await StoreOpener.forCommand(settings)
                defer { Task { await StoreOpener.close(store) } }
                print(try await store.createToken(name: name, role: role))
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List token names and roles.")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let settings = try options.settings()
            do {
                let store = try await StoreOpener.forCommand(settings)
                defer { Task { await StoreOpener.close(store) } }
                for token in try await store.tokens() { print("\(token.name)\t\(token.role.rawValue)") }
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a token.")
        @Argument var name: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let settings = try options.settings()
            let removed: Bool
            do {
                let store = try await StoreOpener.forCommand(settings)
                defer { Task { await StoreOpener.close(store) } }
                removed = try await store.removeToken(name: name)
            } catch {
                throw ValidationError(error.message)
            }
            guard removed else { throw ValidationError("no token named \(name)") }
        }
    }
}
