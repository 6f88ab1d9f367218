import Balancer
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends active health probes over loopback or the network with SwiftNIO. One short-lived connection
/// per probe, so a probe never shares (or poisons) the proxy's pooled connections and measures what a
/// new request would meet.
public struct ProbeClient: Sendable {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    /// Probes `address` once. Never throws: every way a probe can end is a `ProbeResult`.
    public func probe(_ address: Address, _ request: ProbeRequest) async -> ProbeResult {
        let loop = group.next()
        let promise = loop.makePromise(of: ProbeResult.self)
        let target: SocketAddress
        do {
            target = try SocketAddress(ipAddress: address.ip.description, port: Int(address.port))
        } catch {
            return .connectFailure
        }
        let timeout = TimeAmount.nanoseconds(Self.nanoseconds(request.timeout))
        let deadline = loop.scheduleTask(in: timeout) { promise.succeed(.timeout) }
        let kind = request.kind
        let tls = request.tls
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                guard case .http(let path, let host, let headers) = kind else {
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(tls.makeHandler()) }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(HTTPProbeHandler(
                        path: path, host: host ?? address.description, headers: headers, promise: promise))
                }
            }
        bootstrap.connect(to: target).whenComplete { result in
            switch result {
            case .success(let channel):
                if case .tcp = kind { promise.succeed(.connected) }
                // Whatever settles the probe closes its connection.
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                if case ChannelError.connectTimeout = error {
                    promise.succeed(.timeout)
                } else {
                    promise.succeed(.connectFailure)
                }
            }
        }
        // A promise may be completed only once; the ways above race, the first one wins.
        let result = (try? await promise.futureResult.get()) ?? .failure
        deadline.cancel()
        return result
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds &* 1_000_000_000 &+ c.attoseconds / 1_000_000_000
    }
}
