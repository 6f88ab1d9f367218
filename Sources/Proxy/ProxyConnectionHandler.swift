import Balancer
import DNSWire
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves one client connection: routes each request, relays it over a pooled upstream connection on the
/// same event loop, and relays the response back as raw bytes.
///
/// Requests are framed and parsed strictly by `RequestFramer` (no decoder handler in between); responses are
/// framed by `ResponseFramer`; neither is re-encoded. Pipelined requests wait in `state` and are answered in
/// order. Writes are flushed once per read batch.
///
/// Where the connection stands is `state`, a `ClientConnectionState`: this class tells it what happened and
/// does the I/O it implies; the per-request data (service, buffers, tries, the log entry) is in `exchange`.
///
/// `@exclusivity(unchecked)` on the stored properties: the runtime's exclusivity check costs about 50 instructions
/// per access, dozens of times per request (`Benchmarks/proxy/instructions.sh`). It can be left out because two
/// accesses to one of these properties never overlap:
/// - the handler lives on its channel's event loop, and only that thread touches it;
/// - every access that spans a call is a mutating call on a value whose methods do not call out of it
///   (`ClientConnectionState`, `RequestFramer.next`, `Optional.take`, collection appends), or `updateLog`, whose
///   closures only set fields of the log entry; calls that can re-enter the handler (writes, flushes, closes,
///   the selector, the pool) are made on values copied out first.
/// The compiler's static exclusivity checks still apply.
final class ProxyConnectionHandler: ChannelDuplexHandler, DirectReadGate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let loop: LoopContext
    /// When the incomplete request head being read started to arrive (for `ProxyLimits.headerReadTimeout`).
    @exclusivity(unchecked) var headStartedAt: NIODeadline? = nil
    let limits: ProxyLimits
    /// The client connection arrived on a TLS listener.
    let https: Bool
    @exclusivity(unchecked) var context: ChannelHandlerContext!
    /// The client's socket when this handler is the only one of its pipeline (no TLS) on the proxy's own loops:
    /// writes and flushes go to it directly instead of through the pipeline (`send`, `flushOut`).
    @exclusivity(unchecked) var directOut: DirectSocketChannel? = nil
    @exclusivity(unchecked) var framer: RequestFramer
    @exclusivity(unchecked) var clientIP: IPAddress? = nil
    @exclusivity(unchecked) var clientIPText = ""
    @exclusivity(unchecked) var portText = ""
    /// Forwarding header bytes fixed for this connection (built in `handlerAdded`).
    @exclusivity(unchecked) var fixedForwarding: UpstreamRequestWriter.ConnectionForwarding? = nil

    @exclusivity(unchecked) var state = ClientConnectionState()
    @exclusivity(unchecked) var exchange = Exchange()
    @exclusivity(unchecked) var serial = 0

    @exclusivity(unchecked) var readPending = false
    @exclusivity(unchecked) var inReadBatch = false
    @exclusivity(unchecked) var clientFlushNeeded = false
    @exclusivity(unchecked) var upstreamFlushNeeded = false

    /// A response head waiting to be written together with the body that follows it (see `upstreamHead`).
    @exclusivity(unchecked) var heldHead: ByteBuffer? = nil
    /// The buffer responses are assembled in, kept between responses: once its write completed it is
    /// uniquely referenced again, so `clear()` reuses its memory instead of allocating.
    @exclusivity(unchecked) var responseBuffer: ByteBuffer? = nil
    /// The same for upstream request heads: the last exchange's, reused by the next once it was written.
    @exclusivity(unchecked) var requestBuffer: ByteBuffer? = nil

    /// When the connection last became idle (for `ProxyLimits.clientIdleTimeout`); read from the loop's clock.
    @exclusivity(unchecked) var idleSince: NIODeadline
    /// When the current request's body last made progress (for `ProxyLimits.bodyReadTimeout`).
    @exclusivity(unchecked) var lastBodyActivity = NIODeadline.uptimeNanoseconds(0)
    @exclusivity(unchecked) var timer: Scheduled<Void>? = nil
    /// Ends a lingering connection (see `linger`).
    @exclusivity(unchecked) var lingerTimer: Scheduled<Void>? = nil

    static let maxPendingBytes = 256 * 1024

    init(loop: LoopContext, limits: ProxyLimits, https: Bool = false) {
        self.loop = loop
        self.limits = limits
        self.https = https
        self.framer = RequestFramer(limits: limits)
        self.idleSince = loop.now
    }

    var logger: Logger { loop.shared.logger }

    // MARK: Channel lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        portText = String(context.channel.localAddress?.port ?? loop.shared.listenPort.load(ordering: .relaxed))
        if let remote = context.channel.remoteAddress {
            clientIPText = remote.ipAddress ?? ""
            clientIP = IPAddress(clientIPText)
        }
        fixedForwarding = UpstreamRequestWriter.ConnectionForwarding(
            clientIP: clientIPText, proto: https ? "https" : "http", port: portText,
            allocator: context.channel.allocator)
        loop.clients[ObjectIdentifier(self)] = self
        loop.statistics.bump(loop.statistics.accepted)
        loop.statistics.bump(loop.statistics.open)
        if loop.draining { state.drain() }
        // On a TLS listener the head timer runs from accept, so a handshake that stalls is bounded by the
        // header read timeout too (its bytes never reach this handler).
        if https { headStartedAt = loop.now }
        armTimer(in: min(limits.headerReadTimeout, limits.clientIdleTimeout, limits.bodyReadTimeout))
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown()
        directOut = nil
        // The context holds this handler: keeping it would keep both (and the pipeline with its buffers) forever.
        // Everything that can still run for this handler (timers, connects, pool wake-ups, write completions)
        // checks `state.isOpen` first or uses `context?`.
        self.context = nil
    }

    func teardown() {
        guard state.isOpen else { return }
        emitLog()
        state.close()
        loop.statistics.bump(loop.statistics.open, by: -1)
        timer?.cancel()
        timer = nil
        lingerTimer?.cancel()
        lingerTimer = nil
        loop.clients.removeValue(forKey: ObjectIdentifier(self))
        abandonUpstream()
        exchange.pending.removeAll()
        heldHead = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard state.acceptsInput else { return }
        logger.debug("client connection error", metadata: ["client": "\(clientIPText)", "error": "\(error)"])
        closeClient()
    }

    // MARK: Reading from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state.acceptsInput else { return }
        inReadBatch = true
        var buffer = unwrapInboundIn(data)
        while state.acceptsInput {
            let event: RequestEvent?
            do {
                event = try framer.next(&buffer)
            } catch {
                logger.debug("refusing client request", metadata: ["client": "\(clientIPText)", "cause": "\(error.message)"])
                return rejectHead(status: error.status, message: error.message)
            }
            guard let event else { break }
            if case .head = event { headStartedAt = nil }
            if state.receive(event) == .handle { handle(event) }
        }
        // The head timer runs while a head is incomplete, from the read that brought its first bytes.
        if framer.awaitingHead {
            if framer.partialHeadBytes == 0 {
                headStartedAt = nil
            } else if headStartedAt == nil {
                headStartedAt = loop.now
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBatch = false
        if upstreamFlushNeeded {
            upstreamFlushNeeded = false
            exchange.upstream?.flush()
        }
        if clientFlushNeeded {
            clientFlushNeeded = false
            flushOut(context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if admitRead() { context.read() }
    }

    /// Whether the read the channel is about to issue goes ahead; if not, it is remembered and issued when the
    /// pause ends (`resumeReadingIfPossible`). A `DirectSocketChannel` calls this without the pipeline.
    func admitRead() -> Bool {
        if shouldPauseReading {
            readPending = true
            return false
        }
        return true
    }

    var shouldPauseReading: Bool {
        state.shouldPauseReading(heldBytes: exchange.pendingBytes, maxHeldBytes: Self.maxPendingBytes,
                                 upstreamWritable: exchange.upstream?.isWritable)
    }

    func resumeReadingIfPossible() {
        guard readPending, state.isOpen, !shouldPauseReading else { return }
        readPending = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            exchange.upstream?.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func handle(_ event: RequestEvent) {
        switch event {
        case .head(let head):
            if state.stage == .idle {
                start(head)
            }
        case .body(let body):
            requestBody(body)
        case .end:
            requestEnd()
        case .raw(let bytes):
            if state.stage == .tunnel { tunnelFromClient(bytes) }
        }
    }

    /// Feeds waiting parts once the current exchange can take them (`ClientConnectionState.nextQueued`).
    func drainQueue() {
        while state.isOpen {
            switch state.nextQueued() {
            case .handle(let part):
                handle(part)
            case .reject(let status, let message):
                return respondAndClose(status: status, message: message)
            case .wait:
                return
            }
        }
    }

    /// Moves the exchange on. An event its stage does not allow is a bug: the connection is closed (and the
    /// event logged) rather than carried on from a state nobody wrote down.
    func enter(_ event: ClientConnectionState.Event) -> Bool {
        if state.apply(event) { return true }
        logger.error(
            "client connection: event not allowed in its stage; closing",
            metadata: ["event": "\(event)", "stage": "\(state.stage)", "client": "\(clientIPText)"]
        )
        state.refuse()
        closeClient()
        return false
    }

    // MARK: Starting a request

    /// `fixedForwarding`, built on first use if the connection skipped `handlerAdded`'s setup.
    var connectionForwarding: UpstreamRequestWriter.ConnectionForwarding {
        if let fixedForwarding { return fixedForwarding }
        let built = UpstreamRequestWriter.ConnectionForwarding(
            clientIP: clientIPText, proto: https ? "https" : "http", port: portText, allocator: context.channel.allocator)
        fixedForwarding = built
        return built
    }

    func start(_ head: RequestHead) {
        let configuration = loop.shared.configuration.load(ordering: .acquiring)
        guard enter(.headFramed) else { return }
        serial &+= 1
        exchange = Exchange()
        exchange.serial = serial
        exchange.requestId = loop.requestIds.next()
        loop.statistics.bump(loop.statistics.requests)
        exchange.clientMinor = head.minorVersion
        exchange.isHEAD = head.method.isHEAD
        exchange.clientRequestId = head.facts.clientRequestId
        exchange.trace = head.facts.traceParent ?? TraceParent(generatedFrom: exchange.requestId)
        exchange.clientKeepAlive =
            !state.draining && (head.minorVersion >= 1 ? !head.facts.connectionClose : head.facts.connectionKeepAlive)
        exchange.hasBody = head.facts.hasBody
        exchange.chunkedBody = head.facts.chunked
        // Bytes after an upgrade request are raw; unless the upstream switches protocols, the connection ends.
        exchange.upgradeRequested = head.facts.connectionUpgrade && head.facts.upgrade != nil
        logStart(method: head.method, uri: head.uri)

        if let invalid = head.facts.invalid {
            return answer(status: 400, message: "malformed request: \(invalid)", close: true)
        }
        if head.facts.host == nil && head.minorVersion >= 1 {
            return answer(status: 400, message: "malformed request: HTTP/1.1 requires a Host header", close: true)
        }
        if head.method.isCONNECT {
            return answer(status: 400, message: "CONNECT is not supported", close: true)
        }
        guard
            let route = configuration.router.route(
                method: head.method,
                host: head.facts.host.map { Substring($0) },
                uri: Substring(head.uri),
                headers: head.headers,
                https: https,
                clientIP: clientIP
            )
        else {
            return answer(status: 404, message: "no route matched", close: exchange.hasBody)
        }
        if let refusal = route.refusal {
            return answer(status: refusal.status, message: refusal.message, close: exchange.hasBody,
                          extraHeaders: refusal.headers)
        }
        exchange.service = route.service
        exchange.hashKey = route.hashKey
        if !route.responseHeaders.isEmpty { exchange.responseHeaders = route.responseHeaders }
        logRoute(route)
        exchange.bodyLimit = route.maxBodyBytes ?? limits.maxBodyBytes
        if exchange.hasBody { lastBodyActivity = loop.now }
        if let length = head.facts.contentLength, length > exchange.bodyLimit {
            return answer(status: 413, message: "request body larger than \(exchange.bodyLimit) bytes", close: true)
        }
        exchange.idempotent = Self.isIdempotent(head.method)
        exchange.attemptsLeft = route.service.retries

        let size = UpstreamRequestWriter.estimatedSize(head, route)
        var buffer: ByteBuffer
        if var reused = requestBuffer.take(), reused.capacity >= size {
            reused.clear()
            buffer = reused
        } else {
            buffer = context.channel.allocator.buffer(capacity: size)
        }
        UpstreamRequestWriter.write(
            head: head,
            route: route,
            forwarding: .init(clientIP: clientIPText, proto: https ? "https" : "http", port: portText,
                              requestId: exchange.requestId, trace: exchange.trace, fixed: connectionForwarding),
            tunnel: exchange.upgradeRequested,
            into: &buffer
        )
        exchange.upstreamHead = buffer
        attempt()
    }

    private static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: return true
        default: return false
        }
    }

    /// Picks an address and binds a connection to it: synchronously when the pool has an idle one.
    func attempt() {
        guard let service = exchange.service else { return }
        let context = SelectionContext(clientIP: clientIP, hashKey: exchange.hashKey, tried: exchange.tried)
        guard let pick = service.selector.select(context, loopIndex: loop.index) else {
            if !exchange.passedOver.isEmpty {
                // Every address left is at its connection limit: pick again among those, and wait for the
                // pick's connection. A balancer excludes every address tried, so without this the request would
                // get a 503 at once instead of queueing.
                forgetPassedOver()
                exchange.waitAtLimit = true
                return attempt()
            }
            if let last = exchange.lastFailure {
                // Every address was tried: the client hears why the last attempt failed, not "none available".
                logFlag(.retriesExhausted, ifTriesAbove: 1)
                return fail(status: last.status, message: last.message)
            }
            logFlag(.noHealthyUpstream)
            logger.info(
                "no upstream available",
                metadata: ["service": "\(service.name)", "request_id": "\(exchange.requestIdText)"]
            )
            return fail(status: 503, message: "no upstream available")
        }
        let address = pick.address
        exchange.address = address
        exchange.pick = pick
        logTry(address, staleDNS: pick.staleDNS)
        let pool = loop.pool(for: address, tls: service.tls)
        if let connection = pool.take() {
            bind(connection)
            if !inReadBatch { flushUpstream() }
        } else if pool.isAtConnectionLimit {
            if exchange.waitAtLimit || exchange.tried.count >= ExcludedAddresses.capacity
                || exchange.tried.contains(address) {
                // Every address is at its limit (or more were passed over than a pick can exclude): wait
                // for this one, keeping the pick.
                return waitForConnection(pool, service: service)
            }
            // Not the address's fault: hand the pick back without a verdict and try the others.
            logTryPassedOver()
            report(.released)
            exchange.tried.append(address)
            exchange.passedOver.append(address)
            attempt()
        } else {
            connect(pool, service: service)
        }
    }

    /// Opens a connection to `pool`'s address; `granted` when a `.slot` grant already counted it.
    func connect(_ pool: UpstreamPool, service: ProxyService, granted: Bool = false) {
        guard let target = pool.socketAddress else {
            if granted { pool.connectionEnded() }
            logTryFailed("connect_failed", flag: .upstreamConnectionFailure)
            report(.connectFailure)
            return retryOrFail(status: 502, message: "invalid upstream address \(pool.address)")
        }
        guard enter(.connectStarted) else {
            if granted { pool.giveBack(.slot, now: loop.now) }
            return
        }
        let serial = exchange.serial
        let address = pool.address
        let tls = pool.tls
        if granted { pool.grantedConnectionStarted() } else { pool.connectionStarted() }
        let connection: EventLoopFuture<any Channel>
        if let direct = context.eventLoop as? DirectEventLoop {
            connection = DirectSocketChannel.connect(to: target, on: direct, timeout: service.connectTimeout) { channel in
                let pipeline = channel.pipeline.syncOperations
                let upstream = UpstreamConnection(address: address)
                if let tls {
                    try pipeline.addHandler(tls.makeHandler())
                } else {
                    // The only handler: it sees every read, and its writes need no pipeline.
                    channel.readGate = upstream
                    upstream.directOut = channel
                }
                try pipeline.addHandler(upstream)
            }
        } else {
            connection = ClientBootstrap(group: context.eventLoop)
                .connectTimeout(service.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        // With TLS the request is written at once and held by the TLS handler until the handshake
                        // completes; a failed handshake reaches UpstreamConnection.errorCaught as a 502.
                        if let tls { try pipeline.addHandler(tls.makeHandler()) }
                        try pipeline.addHandler(UpstreamConnection(address: address))
                    }
                }
                .connect(to: target)
        }
        connection.assumeIsolated().whenComplete { [self] result in
            self.connected(result, pool: pool, serial: serial)
        }
    }

    func connected(_ result: Result<any Channel, any Error>, pool: UpstreamPool, serial: Int) {
        switch result {
        case .success(let channel):
            guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                pool.connectionEnded()
                channel.close(promise: nil)
                return
            }
            connection.pool = pool  // from now on the connection's removal ends its count
            guard state.isOpen, serial == exchange.serial, state.stage == .connecting else {
                // The exchange ended while connecting: keep the connection for someone else.
                pool.release(connection, now: loop.now)
                return
            }
            bind(connection)
            flushUpstream()
            resumeReadingIfPossible()
        case .failure(let error):
            pool.connectionEnded()
            guard state.isOpen, serial == exchange.serial, state.stage == .connecting else { return }
            let timedOut: Bool
            if case ChannelError.connectTimeout = error { timedOut = true } else { timedOut = false }
            logTryFailed(timedOut ? "connect_timeout" : "connect_failed",
                         flag: timedOut ? .upstreamTimeout : .upstreamConnectionFailure)
            report(timedOut ? .timeout : .connectFailure)
            logger.info(
                "upstream connect failed",
                metadata: [
                    "address": "\(pool.address)", "error": "\(error)", "request_id": "\(exchange.requestIdText)",
                ]
            )
            retryOrFail(
                status: timedOut ? 504 : 502,
                message: timedOut ? "upstream connect timed out" : "upstream connection refused"
            )
            flushClient()
        }
    }

    func bind(_ connection: UpstreamConnection) {
        guard let service = exchange.service else { return }
        guard enter(.upstreamBound) else {
            if let pool = connection.pool { pool.release(connection, now: loop.now) } else { connection.close() }
            return
        }
        exchange.upstream = connection
        connection.owner = self
        logConnected()
        connection.begin(
            headRequest: exchange.isHEAD,
            dechunk: exchange.clientMinor == 0,
            readTimeout: service.readTimeout,
            writeTimeout: service.writeTimeout
        )
        exchange.sentAt = loop.now
        if let head = exchange.upstreamHead { connection.write(head) }
        if !exchange.pending.isEmpty {
            for body in exchange.pending { writeBody(body, to: connection) }
            exchange.pending.removeAll()
        }
        exchange.pendingBytes = 0
        if state.requestComplete { finishRequest(on: connection) }
        upstreamFlushNeeded = true
    }

    // MARK: Request body

    func requestBody(_ body: ByteBuffer) {
        switch state.bodyUse {
        case .forward, .hold:
            exchange.bodyReceived += Int64(body.readableBytes)
            lastBodyActivity = loop.now
            if exchange.bodyReceived > exchange.bodyLimit {
                logger.info("request body over limit", metadata: ["request_id": "\(exchange.requestIdText)"])
                abandonUpstream()
                return fail(status: 413, message: "request body larger than \(exchange.bodyLimit) bytes")
            }
            if let connection = exchange.upstream {
                writeBody(body, to: connection)
                upstreamFlushNeeded = true
                if !inReadBatch { flushUpstream() }
            } else {
                exchange.pending.append(body)
                exchange.pendingBytes += body.readableBytes
            }
        case .discard:
            break
        }
    }

    func writeBody(_ body: ByteBuffer, to connection: UpstreamConnection) {
        guard body.readableBytes > 0 else { return }
        if exchange.chunkedBody {
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeString(String(body.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            connection.write(size)
            connection.write(body)
            connection.write(ByteBuffer(staticString: "\r\n"))
        } else {
            connection.write(body)
        }
    }

    func requestEnd() {
        state.requestReceived()
        switch state.stage {
        case .forwarding, .responding:
            if let connection = exchange.upstream {
                finishRequest(on: connection)
                upstreamFlushNeeded = true
                if !inReadBatch { flushUpstream() }
            }
        case .answered:
            finishExchange()
        case .idle, .routing, .queued, .connecting, .tunnel:
            break
        }
    }

    func finishRequest(on connection: UpstreamConnection) {
        if exchange.chunkedBody {
            connection.write(ByteBuffer(staticString: "0\r\n\r\n"))
        }
        state.requestSent()
        connection.requestSent()
    }
}
