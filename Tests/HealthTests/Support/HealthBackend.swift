import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback HTTP backend that can be killed and restarted on the same port, and told to answer
/// normally, with a 503, or slowly. Counts proxied requests and probe requests (`/health`) apart.
final class HealthBackend: Sendable {
    enum Mode: Int, Sendable {
        case ok = 0
        case unavailable = 1
        /// Answers after `slowMilliseconds`.
        case slow = 2
        /// Answers 429 Too Many Requests.
        case throttling = 3
        /// Answers 404 Not Found.
        case notFound = 4
    }

    let name: String
    private let portBox = ManagedAtomic<Int>(0)
    private let modeBits = ManagedAtomic<Int>(Mode.ok.rawValue)
    private let requestCount = ManagedAtomic<Int>(0)
    private let probeCount = ManagedAtomic<Int>(0)
    private let running = NIOLockedValueBox<(MultiThreadedEventLoopGroup, any Channel)?>(nil)
    static let slowMilliseconds: Int64 = 2000

    var port: Int { portBox.load(ordering: .relaxed) }
    /// Requests other than probes received so far.
    var requests: Int { requestCount.load(ordering: .relaxed) }
    var probes: Int { probeCount.load(ordering: .relaxed) }
    var mode: Mode {
        get { Mode(rawValue: modeBits.load(ordering: .relaxed)) ?? .ok }
        set { modeBits.store(newValue.rawValue, ordering: .relaxed) }
    }

    private init(name: String) { self.name = name }

    static func start(name: String) async throws -> HealthBackend {
        let backend = HealthBackend(name: name)
        try await backend.listen(port: 0)
        return backend
    }

    private func listen(port: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let name = self.name
        let mode = modeBits, requests = requestCount, probes = probeCount
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false).flatMap {
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                HealthBackendHandler(name: name, mode: mode, requests: requests, probes: probes))
                        }
                    }
                }
                .bind(host: "127.0.0.1", port: port)
                .get()
            portBox.store(channel.localAddress?.port ?? 0, ordering: .relaxed)
            running.withLockedValue { $0 = (group, channel) }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Closes the listener and every connection: connects are refused from now on.
    func kill() async {
        guard let (group, channel) = running.withLockedValue({ value in
            defer { value = nil }
            return value
        }) else { return }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// Listens again on the same port.
    func restart() async throws {
        try await listen(port: port)
    }
}

/// Serves one connection of a `HealthBackend`.
final class HealthBackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let name: String
    private let mode: ManagedAtomic<Int>
    private let requests: ManagedAtomic<Int>
    private let probes: ManagedAtomic<Int>

    init(name: String, mode: ManagedAtomic<Int>, requests: ManagedAtomic<Int>, probes: ManagedAtomic<Int>) {
        self.name = name
        self.mode = mode
        self.requests = requests
        self.probes = probes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.uri.hasPrefix("/health") {
                probes.wrappingIncrement(ordering: .relaxed)
            } else {
                requests.wrappingIncrement(ordering: .relaxed)
            }
        case .body:
            break
        case .end:
            switch HealthBackend.Mode(rawValue: mode.load(ordering: .relaxed)) ?? .ok {
            case .ok:
                send(context: context, status: .ok)
            case .unavailable:
                send(context: context, status: .serviceUnavailable)
            case .throttling:
                send(context: context, status: .tooManyRequests)
            case .notFound:
                send(context: context, status: .notFound)
            case .slow:
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(HealthBackend.slowMilliseconds)) {
                    let (handler, context) = bound.value
                    handler.send(context: context, status: .ok)
                }
            }
        }
    }

    private func send(context: ChannelHandlerContext, status: HTTPResponseStatus) {
        guard context.channel.isActive else { return }
        let body = context.channel.allocator.buffer(string: "\(status.code) from \(name)")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "X-Backend", value: name)
        context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
