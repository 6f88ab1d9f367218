import ArgumentParser
import Gateway

@main
enum SwitchyardMain {
    static func main() async {
        ExclusivityChecks.configure()
        await Switchyard.main()
    }
}

struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A DNS/SRV-driven service-discovery load balancer and API gateway.",
        version: SwitchyardVersion.current,
        subcommands: [StartCommand.self, ResolveCommand.self, WatchCommand.self, DemoBackendCommand.self,
                      ConfigCommand.self, DBCommand.self, MigrationsCommand.self, AdminTokenCommand.self]
    )
}
