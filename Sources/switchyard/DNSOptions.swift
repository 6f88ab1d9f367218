import ArgumentParser
import Balancer
import Discovery

/// Resolver options shared by the DNS commands.
struct DNSOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: ArgumentHelp("DNS server HOST:PORT to ask (repeatable; default: /etc/resolv.conf).", valueName: "host:port"))
    var servers: [String] = []

    @Option(help: "Per-try timeout in milliseconds (doubles on each retry round).")
    var timeoutMs: Int = 1500

    @Option(help: "Tries per server.")
    var tries: Int = 2

    @Flag(help: "Ask over TCP only.")
    var tcp = false

    @Option(help: "Address families to resolve: ipv4, ipv6 or all.")
    var family: String = "all"

    func resolverConfiguration() throws -> ResolverConfiguration {
        var configuration = ResolverConfiguration()
        configuration.servers = try servers.map { text in
            do throws(DiscoveryError) { return try NameServer(parsing: text) } catch { throw ValidationError(error.message) }
        }
        guard timeoutMs > 0 else { throw ValidationError("--timeout-ms must be greater than 0") }
        guard tries > 0 else { throw ValidationError("--tries must be greater than 0") }
        configuration.timeout = .milliseconds(timeoutMs)
        configuration.tries = tries
        configuration.tcpOnly = tcp
        return configuration
    }

    func addressFamilies() throws -> AddressFamilies {
        switch family.lowercased() {
        case "ipv4", "4": return .ipv4
        case "ipv6", "6": return .ipv6
        case "all", "both": return .all
        default: throw ValidationError("--family must be ipv4, ipv6 or all, not \"\(family)\"")
        }
    }
}
