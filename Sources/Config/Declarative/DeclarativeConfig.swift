import Foundation

/// The whole entity configuration: what a Kong declarative file describes, what the store holds, and what the
/// proxy is built from. A plain value: build a new one to change anything.
public struct DeclarativeConfig: Sendable, Hashable {
    public static let formatVersions = ["1.1", "2.1", "3.0"]

    /// Kong's `_format_version`; exports write "3.0".
    public var formatVersion: String
    public var services: [Service]
    public var routes: [Route]
    public var upstreams: [Upstream]
    public var targets: [Target]
    public var consumers: [Consumer]
    public var keyAuthCredentials: [KeyAuthCredential]
    public var plugins: [Plugin]

    public init(formatVersion: String = "3.0", services: [Service] = [], routes: [Route] = [],
                upstreams: [Upstream] = [], targets: [Target] = [], consumers: [Consumer] = [],
                keyAuthCredentials: [KeyAuthCredential] = [], plugins: [Plugin] = []) {
        self.formatVersion = formatVersion
        self.services = services
        self.routes = routes
        self.upstreams = upstreams
        self.targets = targets
        self.consumers = consumers
        self.keyAuthCredentials = keyAuthCredentials
        self.plugins = plugins
    }

    /// A configuration that loaded, with the warnings found on the way (ignored fields).
    public struct Loaded: Sendable {
        public var config: DeclarativeConfig
        public var warnings: [ConfigIssue]
    }

    /// Parses Kong's declarative format from YAML or JSON text; throws every error found, not just the first.
    public static func parse(_ text: String, options: ValidationOptions = .init()) throws(ConfigError) -> Loaded {
        let raw = try RawValue.parse(text)
        let log = IssueLog()
        let parser = DeclarativeParser(log: log)
        let config = parser.parse(raw)
        // Field and cross-entity checks run even after reading errors so one pass reports everything; dangling
        // references are then skipped because the reading pass already named each unresolved one.
        let readingFailed = log.hasErrors
        log.append(contentsOf: config.validationIssues(options: options, paths: parser.paths).filter {
            !(readingFailed && $0.kind == .notFound)
        })
        if log.hasErrors {
            throw ConfigError(code: .invalid, issues: log.issues)
        }
        return Loaded(config: config, warnings: log.issues)
    }

    /// Parses the text of the file at `fileName` (read by the caller: this module does no I/O), naming the file
    /// in every issue: `kong.yaml: services[0].port: …`.
    public static func parse(_ text: String, fileName: String,
                             options: ValidationOptions = .init()) throws(ConfigError) -> Loaded {
        do {
            return try parse(text, options: options)
        } catch {
            var error = error
            error.issues = error.issues.map { issue in
                var issue = issue
                issue.path = issue.path.isEmpty ? fileName : "\(fileName): \(issue.path)"
                return issue
            }
            throw error
        }
    }

    // MARK: Lookups

    public func service(id: UUID) -> Service? { services.first { $0.id == id } }
    public func route(id: UUID) -> Route? { routes.first { $0.id == id } }
    public func upstream(id: UUID) -> Upstream? { upstreams.first { $0.id == id } }
    public func consumer(id: UUID) -> Consumer? { consumers.first { $0.id == id } }

    /// The upstream that balances a service: the one whose name equals the service's host.
    public func upstream(forServiceHost host: String) -> Upstream? {
        upstreams.first { $0.name == host }
    }

    public func targets(of upstream: UUID) -> [Target] { targets.filter { $0.upstream == upstream } }

    /// The key-auth requirement in force on a route: its own plugin, else its service's, else a global one.
    /// Disabled plugins are skipped, as Kong leaves them out entirely (so a disabled route plugin does not hide
    /// an enabled service one).
    public func keyAuth(forRoute route: Route) -> KeyAuthConfig? {
        func find(_ match: (Plugin) -> Bool) -> Plugin? {
            plugins.first { $0.enabled && $0.name == "key-auth" && match($0) }
        }
        let plugin = find { $0.route == route.id }
            ?? route.service.flatMap { service in find { $0.route == nil && $0.service == service } }
            ?? find { $0.route == nil && $0.service == nil }
        guard let plugin, case let .keyAuth(config) = plugin.config else { return nil }
        return config
    }
}
