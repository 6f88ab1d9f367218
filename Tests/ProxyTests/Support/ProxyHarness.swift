import TestSupport
import Balancer
import DNSWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Proxy

/// A selector that records every report, for asserting what the proxy told the balancer.
final class RecordingSelector: AddressSelector {
    let inner: RoundRobinSelector
    private let log = NIOLockedValueBox<[(Address, UpstreamOutcome)]>([])

    init(addresses: [Address]) {
        inner = RoundRobinSelector(addresses: addresses)
    }

    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
        inner.select(request, loopIndex: loopIndex)
    }

    func report(_ pick: UpstreamPick, outcome: UpstreamOutcome) {
        log.withLockedValue { $0.append((pick.address, outcome)) }
    }

    var reports: [(Address, UpstreamOutcome)] { log.withLockedValue { $0 } }
}

/// A running proxy in front of the given addresses, on an ephemeral loopback port.
struct ProxyHarness {
    let server: ProxyServer
    let port: Int
    let selector: RecordingSelector

    static func start(
        addresses: [Address],
        retries: Int = 5,
        connectTimeout: TimeAmount = .seconds(2),
        readTimeout: TimeAmount = .seconds(5),
        writeTimeout: TimeAmount = .seconds(5),
        limits: ProxyLimits = ProxyLimits(),
        maxBodyBytes: Int64? = nil,
        workers: Int = 1,
        pool: PoolSettings = PoolSettings(),
        accessLog: AccessLog? = nil,
        engine: ProxyEngine = .fromEnvironment
    ) async throws -> ProxyHarness {
        let selector = RecordingSelector(addresses: addresses)
        let service = ProxyService(
            name: "test", connectTimeout: connectTimeout, readTimeout: readTimeout, writeTimeout: writeTimeout,
            retries: retries, selector: selector
        )
        let configuration = ProxyConfiguration(
            router: StaticRouter(service: service, maxBodyBytes: maxBodyBytes), limits: limits
        )
        var logger = Logger(label: "proxy-test")
        logger.logLevel = .critical
        var settings = ProxyServer.Settings(host: "127.0.0.1", port: 0, workers: workers, pool: pool)
        settings.accessLog = accessLog
        settings.engine = engine
        let server = ProxyServer(settings: settings, configuration: configuration, logger: logger)
        let port = try await server.start()
        return ProxyHarness(server: server, port: port, selector: selector)
    }

    func client(timeoutSeconds: Int = 5) throws -> TestClient {
        try TestClient(port: port, timeoutSeconds: timeoutSeconds)
    }

    func stop() async {
        try? await server.stop(grace: .seconds(1))
    }
}
