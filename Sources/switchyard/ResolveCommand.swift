import ArgumentParser
import DNSWire
import Discovery
import Foundation

/// `switchyard resolve NAME`: what Switchyard's own resolver sees, with TTLs, like `dig`.
struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a name through Switchyard's resolver and print the records with their TTLs."
    )

    @Argument(help: "The name to resolve (an SRV name starts with an underscore: _http._tcp.api.example).")
    var name: String

    @Option(name: .customLong("type"), help: "A, AAAA, SRV, or ADDR (A and AAAA). Default: SRV for _names, else ADDR.")
    var recordType: String?

    @OptionGroup var dns: DNSOptions

    func run() async throws {
        let resolver = try makeResolver()
        defer { resolver.shutdown() }
        let type = (recordType ?? (name.hasPrefix("_") ? "SRV" : "ADDR")).uppercased()
        do {
            switch type {
            case "SRV":
                let lookup = try await resolver.resolveService(name, families: try dns.addressFamilies())
                print(";; \(lookup.canonicalName) SRV, \(lookup.entries.count) entries, refresh after \(lookup.ttl)s")
                for entry in lookup.entries {
                    print("\(lookup.canonicalName).\t\(entry.ttl)\tIN\tSRV\t\(entry.priority) \(entry.weight) \(entry.port) \(entry.target).")
                    let source = entry.fromGlue ? "additional section" : "lookup"
                    for address in entry.addresses {
                        let kind = address.isIPv6 ? "AAAA" : "A"
                        let ttl = entry.addressTTL.map(String.init) ?? "-"
                        print("  \(entry.target).\t\(ttl)\tIN\t\(kind)\t\(address)\t; from \(source)")
                    }
                    if let error = entry.addressError { print("  ; \(entry.target): \(error.message)") }
                }
            case "A", "AAAA", "ADDR":
                let families: AddressFamilies = type == "A" ? .ipv4 : type == "AAAA" ? .ipv6 : try dns.addressFamilies()
                let lookup = try await resolver.resolveAddresses(name, families: families)
                print(";; \(lookup.canonicalName), \(lookup.addresses.count) addresses from \(lookup.source.rawValue), refresh after \(lookup.ttl)s")
                for address in lookup.addresses {
                    print("\(lookup.canonicalName).\t\(lookup.ttl)\tIN\t\(address.isIPv6 ? "AAAA" : "A")\t\(address)")
                }
            default:
                throw ValidationError("--type must be A, AAAA, SRV or ADDR, not \"\(type)\"")
            }
        } catch let error as DiscoveryError {
            FileHandle.standardError.write(Data("switchyard: \(error.code.rawValue): \(error.message)\n".utf8))
            throw ExitCode(error.isNegativeAnswer ? 2 : 1)
        }
    }

    func makeResolver() throws -> DNSResolver {
        do {
            return try DNSResolver(configuration: try dns.resolverConfiguration())
        } catch let error as DiscoveryError {
            throw ValidationError(error.message)
        }
    }
}
