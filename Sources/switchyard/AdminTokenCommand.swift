import ArgumentParser
import Store

/// `switchyard admin-token create|list|remove`: Admin API tokens. Only a SHA-256 of each token is stored; a
/// new token is printed once. Once any token exists, every Admin API request needs one.
struct AdminTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Manage Admin API tokens (roles: admin, read-only).",
        subcommands: [Create.self, List.self, Remove.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) a named token and print it once.")
        @Argument(help: "A name for the token (who or what uses it).") var name: String
        @Option(help: "admin or read-only.") var role = "admin"
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            guard let role = AdminRole(rawValue: role) else {
                throw ValidationError("--role must be admin or read-only, not \"\(role)\"")
            }
            let path = try options.settings().database
            do {
                let token = try ConfigStore(path: path).createToken(name: name, role: role)
                print(token)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List token names and roles.")
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let path = try options.settings().database
            do {
                for token in try ConfigStore(path: path).tokens() { print("\(token.name)\t\(token.role.rawValue)") }
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a token.")
        @Argument var name: String
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let path = try options.settings().database
            let removed: Bool
            do {
                removed = try ConfigStore(path: path).removeToken(name: name)
            } catch {
                throw ValidationError(error.message)
            }
            guard removed else { throw ValidationError("no token named \(name)") }
        }
    }
}
