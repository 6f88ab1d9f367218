import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The HTTP reverse proxy listener: one event loop per worker, each with its own upstream pools.
///
/// Client connections and their upstream connections share an event loop, so the request path takes
/// no lock and hops no thread. Configuration is swapped with `update` without touching connections.
public final class ProxyServer: Sendable {
    /// Node settings fixed for the server's lifetime.
    public struct Settings: Sendable {
        /// One address the proxy accepts clients on, plain or TLS.
        public struct Listener: Sendable {
            public var host: String
            /// 0 binds an ephemeral port (tests); `start()` returns the real one.
            public var port: Int
            /// Terminates TLS from clients (`proxy_listen … ssl`); their requests route as `https`.
            public var tls: ListenerTLS?

            public init(host: String, port: Int, tls: ListenerTLS? = nil) {
                self.host = host
                self.port = port
                self.tls = tls
            }
        }

        /// At least one; the first is the one `start()` reports.
        public var listeners: [Listener]
        public var host: String { listeners[0].host }
        public var port: Int { listeners[0].port }
        /// Event loop threads; one per core by default.
        public var workers: Int
        public var pool: PoolSettings
        /// Listen backlog.
        public var backlog: Int32
        /// One line per request (`access_log`); nil when off.
        public var accessLog: AccessLog? = nil
        /// Receives finished requests in batches (metrics); nil when off.
        public var observer: (any RequestObserver)? = nil
        /// Which event loops run the client and upstream sockets (`SWITCHYARD_PROXY_ENGINE`, default `direct`).
        public var engine: ProxyEngine = .fromEnvironment

        public init(
            host: String = "0.0.0.0",
            port: Int = 8000,
            workers: Int = System.coreCount,
            pool: PoolSettings = PoolSettings(),
            backlog: Int32 = 1024
        ) {
            self.init(listeners: [Listener(host: host, port: port)], workers: workers, pool: pool, backlog: backlog)
        }

        public init(
            listeners: [Listener],
            workers: Int = System.coreCount,
            pool: PoolSettings = PoolSettings(),
            backlog: Int32 = 1024
        ) {
            self.listeners = listeners.isEmpty ? [Listener(host: "0.0.0.0", port: 8000)] : listeners
            self.workers = max(1, workers)
            self.pool = pool
            self.backlog = backlog
        }
    }

    private struct Running: Sendable {
        var engine: Engine
        /// The listening descriptors, in `settings.listeners` order (owned by the server while it runs).
        var descriptors: [CInt]
        var ports: [Int]
        var accepting = true
        var loops: [NIOLoopBound<LoopContext>]
    }

    /// Who runs the sockets: the proxy's own loops (the default), or SwiftNIO's.
    private enum Engine: Sendable {
        /// `DirectEventLoop`s, each with one `DirectListener` per listening socket.
        case direct([DirectEventLoop], [NIOLoopBound<[DirectListener]>])
        /// NIO's `MultiThreadedEventLoopGroup` with one `ServerBootstrap` channel per listening socket.
        case nio(MultiThreadedEventLoopGroup, [any Channel])
    }

    public let settings: Settings
    private let shared: ServerShared
    private let running = NIOLockedValueBox<Running?>(nil)
    private let loopStatistics = NIOLockedValueBox<[LoopStatistics]>([])

    /// Connections and requests so far, summed over the event loops; readable from any thread.
    public var statistics: ProxyStatistics {
        var total = ProxyStatistics()
        for loop in loopStatistics.withLockedValue({ $0 }) {
            total.connectionsAccepted += loop.accepted.load(ordering: .relaxed)
            total.connectionsOpen += loop.open.load(ordering: .relaxed)
            total.requests += loop.requests.load(ordering: .relaxed)
        }
        return total
    }

    public init(settings: Settings, configuration: ProxyConfiguration, logger: Logger = Logger(label: "switchyard.proxy")) {
        self.settings = settings
        self.shared = ServerShared(configuration: configuration, pool: settings.pool, logger: logger, workers: settings.workers,
                                   accessLog: settings.accessLog, observer: settings.observer)
    }

    /// The configuration snapshot new requests use.
    public var configuration: ProxyConfiguration {
        shared.configuration.load(ordering: .acquiring)
    }

    /// Publishes a new configuration: requests already routed finish with the old one, connections stay open.
    public func update(_ configuration: ProxyConfiguration) {
        shared.configuration.store(configuration, ordering: .releasing)
    }

    /// Binds and starts accepting; returns the bound port. `inherited` gives, by index in `settings.listeners`,
    /// listening sockets handed over by the node this one takes over: those are served as they are instead of
    /// bound (the server owns them from now on, and closes the ones it does not use if it fails to start).
    @discardableResult
    public func start(inherited: [Int: CInt] = [:]) async throws -> Int {
        var unused = inherited
        defer { for fd in unused.values { ListenSocket.close(fd) } }
        guard running.withLockedValue({ $0 == nil }) else {
            throw ChannelError.inappropriateOperationForState
        }
        // The listening sockets first: nothing runs yet if one cannot be had.
        var descriptors: [CInt] = []
        do {
            for (position, listener) in settings.listeners.enumerated() {
                if let handedOver = unused.removeValue(forKey: position) {
                    guard ListenSocket.isListening(handedOver) else {
                        ListenSocket.close(handedOver)
                        throw IOError(errnoCode: ENOTSOCK, reason: "handed-over socket for \(listener.host):\(listener.port) is not listening")
                    }
                    descriptors.append(handedOver)
                } else {
                    descriptors.append(try ListenSocket.open(host: listener.host, port: listener.port, backlog: settings.backlog))
                }
            }
        } catch {
            for fd in descriptors { ListenSocket.close(fd) }
            throw error
        }
        let ports = zip(settings.listeners, descriptors).map { listener, fd in
            DirectSocket.localAddress(fd)?.port ?? listener.port
        }
        let running: Running
        do {
            switch settings.engine {
            case .direct: running = try await startDirect(descriptors: descriptors, ports: ports)
            case .nio: running = try await startNIO(descriptors: descriptors, ports: ports)
            }
        } catch {
            for fd in descriptors { ListenSocket.close(fd) }
            throw error
        }
        for (position, listener) in settings.listeners.enumerated() {
            shared.logger.info("proxy listening", metadata: [
                "address": "\(listener.host):\(ports[position])", "tls": "\(listener.tls != nil)",
                "workers": "\(settings.workers)", "engine": "\(settings.engine)",
                "socket": "\(inherited[position] == nil ? "bound" : "handed over")",
            ])
        }
        shared.listenPort.store(ports[0], ordering: .releasing)
        self.running.withLockedValue { $0 = running }
        return ports[0]
    }

    /// One `LoopContext` per loop, made on the loop.
    private func makeContexts(_ loops: [any EventLoop]) async throws -> [NIOLoopBound<LoopContext>] {
        var contexts: [NIOLoopBound<LoopContext>] = []
        var statistics: [LoopStatistics] = []
        for (index, eventLoop) in loops.enumerated() {
            let shared = self.shared
            let counters = LoopStatistics()
            statistics.append(counters)
            contexts.append(try await eventLoop.submit {
                let context = LoopContext(index: index, eventLoop: eventLoop, shared: shared, statistics: counters)
                context.startSweeping()
                return NIOLoopBound(context, eventLoop: eventLoop)
            }.get())
        }
        let started = statistics
        loopStatistics.withLockedValue { $0 = started }
        return contexts
    }

    private func startDirect(descriptors: [CInt], ports: [Int]) async throws -> Running {
        var loops: [DirectEventLoop] = []
        do {
            for index in 0..<settings.workers { loops.append(try DirectEventLoop(index: index)) }
        } catch {
            for loop in loops { try? await loop.shutdownGracefully() }
            throw error
        }
        do {
            let contexts = try await makeContexts(loops)
            let shared = self.shared
            // adopters[loop][listener]: makes an accepted socket a client connection on that loop.
            let adopters = zip(loops, contexts).map { loop, context in
                settings.listeners.map { DirectAdopter(loop: loop, context: context, tls: $0.tls, shared: shared) }
            }
            let turn = ManagedAtomic(0)
            var listeners: [NIOLoopBound<[DirectListener]>] = []
            for loop in loops {
                listeners.append(try await loop.submit {
                    let started = try descriptors.enumerated().map { position, fd in
                        let listener = DirectListener(fd: fd, loop: loop, logger: shared.logger) { client, remote in
                            let next = turn.loadThenWrappingIncrement(ordering: .relaxed) % adopters.count
                            adopters[next][position].adopt(client, remote: remote)
                        }
                        try listener.start()
                        return listener
                    }
                    return NIOLoopBound(started, eventLoop: loop)
                }.get())
            }
            return Running(engine: .direct(loops, listeners), descriptors: descriptors, ports: ports, loops: contexts)
        } catch {
            for loop in loops { try? await loop.shutdownGracefully() }
            throw error
        }
    }

    private func startNIO(descriptors: [CInt], ports: [Int]) async throws -> Running {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.workers)
        do {
            let contexts = try await makeContexts(Array(group.makeIterator()))
            var byLoop: [ObjectIdentifier: NIOLoopBound<LoopContext>] = [:]
            for bound in contexts { byLoop[ObjectIdentifier(bound.eventLoop)] = bound }
            let lookup = byLoop
            let shared = self.shared
            var channels: [any Channel] = []
            for (listener, fd) in zip(settings.listeners, descriptors) {
                let tls = listener.tls
                let bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: settings.backlog)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            guard let loop = lookup[ObjectIdentifier(channel.eventLoop)]?.value else {
                                throw ChannelError.ioOnClosedChannel
                            }
                            let limits = shared.configuration.load(ordering: .acquiring).limits
                            try ProxyServer.configureClientPipeline(channel, loop: loop, limits: limits, tls: tls)
                        }
                    }
                // NIO's channel owns a duplicate: the server keeps `fd` itself, as with the direct engine.
                let duplicate = dup(fd)
                guard duplicate >= 0 else { throw IOError(errnoCode: errno, reason: "dup") }
                do {
                    channels.append(try await bootstrap.withBoundSocket(duplicate).get())
                } catch {
                    ListenSocket.close(duplicate)
                    throw error
                }
            }
            return Running(engine: .nio(group, channels), descriptors: descriptors, ports: ports, loops: contexts)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    static func configureClientPipeline(_ channel: any Channel, loop: LoopContext, limits: ProxyLimits,
                                        tls: ListenerTLS? = nil) throws {
        let sync = channel.pipeline.syncOperations
        let handler = ProxyConnectionHandler(loop: loop, limits: limits, https: tls != nil)
        if let tls {
            try sync.addHandler(NIOSSLServerHandler(context: tls.current))
        } else if let direct = channel as? DirectSocketChannel {
            // The only handler: it sees every read, and its writes need no pipeline.
            direct.readGate = handler
            handler.directOut = direct
        }
        try sync.addHandler(handler)
    }

    /// The bound port of the first listener while running.
    public var port: Int? {
        running.withLockedValue { $0?.ports.first }
    }

    /// The bound port of every listener, in `settings.listeners` order (empty when stopped).
    public var ports: [Int] {
        running.withLockedValue { $0?.ports ?? [] }
    }

    /// The listening sockets while accepting, in `settings.listeners` order, for handing over to the process that
    /// takes this node over (`SCM_RIGHTS` duplicates them; they stay owned by this server).
    public var listeningSockets: [(listener: Settings.Listener, fd: CInt)] {
        running.withLockedValue { state in
            guard let state, state.accepting else { return [] }
            return Array(zip(settings.listeners, state.descriptors))
        }
    }

    /// Stops accepting new connections; connections already open go on. The sockets close in this process only:
    /// a process they were handed to keeps accepting on them, and clients waiting in the backlog are its.
    public func stopAccepting() async {
        let stopping = running.withLockedValue { state -> (Engine, [CInt])? in
            guard let current = state, current.accepting else { return nil }
            state?.accepting = false
            return (current.engine, current.descriptors)
        }
        guard let (engine, descriptors) = stopping else { return }
        switch engine {
        case .direct(let loops, let listeners):
            // Every loop leaves the sockets before they close, so none accepts on a descriptor reused meanwhile.
            for (loop, bound) in zip(loops, listeners) {
                try? await loop.submit { for listener in bound.value { listener.stop() } }.get()
            }
        case .nio(_, let channels):
            for channel in channels { try? await channel.close() }
        }
        for fd in descriptors { ListenSocket.close(fd) }
    }

    /// Stops accepting, lets requests in progress finish (up to `grace`), then closes everything. Keep-alive
    /// clients get `Connection: close` on their next response, or are closed once idle. Returns how many client
    /// connections were still open when `grace` ran out (and were cut).
    @discardableResult
    public func stop(grace: TimeAmount = .seconds(10)) async throws -> Int {
        await stopAccepting()
        guard let state = running.withLockedValue({ value -> Running? in
            let current = value
            value = nil
            return current
        }) else { return 0 }
        for bound in state.loops {
            try? await bound.eventLoop.submit {
                let loop = bound.value
                loop.draining = true
                for client in loop.clients.values { client.closeWhenDone() }
            }.get()
        }
        let deadline = NIODeadline.now() + grace
        var open = 0
        while NIODeadline.now() < deadline {
            open = 0
            for bound in state.loops {
                open += (try? await bound.eventLoop.submit { bound.value.clients.count }.get()) ?? 0
            }
            if open == 0 { break }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if open > 0 {
            shared.logger.warning("drain time over: cutting client connections", metadata: ["connections": "\(open)"])
        }
        for bound in state.loops {
            try? await bound.eventLoop.submit {
                let loop = bound.value
                loop.stopSweeping()
                loop.flushLog()
                loop.closeIdleUpstreams()
            }.get()
        }
        switch state.engine {
        case .direct(let loops, _):
            for loop in loops { try await loop.shutdownGracefully() }
        case .nio(let group, _):
            try await group.shutdownGracefully()
        }
        return open
    }

    /// Upstream connections opened so far, over all loops and addresses (for tests and stats).
    public func upstreamConnectionsOpened() async -> Int {
        let loops = running.withLockedValue { $0?.loops ?? [] }
        var total = 0
        for bound in loops {
            total += (try? await bound.eventLoop.submit { bound.value.pools.values.reduce(0) { $0 + $1.opened } }.get()) ?? 0
        }
        return total
    }
}

/// Makes an accepted socket a client connection on one loop, from whichever loop accepted it.
private struct DirectAdopter: Sendable {
    let loop: DirectEventLoop
    let context: NIOLoopBound<LoopContext>
    let tls: ListenerTLS?
    let shared: ServerShared

    func adopt(_ fd: CInt, remote: SocketAddress?) {
        if loop.inEventLoop { return start(fd, remote: remote) }
        loop.execute {
            // After the loop stopped, tasks run on the caller's thread: nothing is left to serve the connection.
            guard self.loop.inEventLoop else { return ListenSocket.close(fd) }
            self.start(fd, remote: remote)
        }
    }

    private func start(_ fd: CInt, remote: SocketAddress?) {
        let loopContext = context.value
        let shared = self.shared
        let tls = self.tls
        DirectSocketChannel.accepted(fd: fd, loop: loop, remote: remote) { channel in
            let limits = shared.configuration.load(ordering: .acquiring).limits
            try ProxyServer.configureClientPipeline(channel, loop: loopContext, limits: limits, tls: tls)
        }
    }
}
