import Balancer
import DNSWire
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves one client connection: routes each request, relays it over a pooled upstream connection on the
/// same event loop, and relays the response back as raw bytes.
///
/// Requests are parsed by NIOHTTP1 (strict); responses are framed by `ResponseFramer` and never re-encoded.
/// Pipelined requests wait in `queue` and are answered in order. Writes are flushed once per read batch.
final class ProxyConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let loop: LoopContext
    let progress = HeadProgress()
    private let limits: ProxyLimits
    private var context: ChannelHandlerContext!
    private weak var decoder: (any RemovableChannelHandler & AnyObject)?
    private var clientIP: IPAddress? = nil
    private var clientIPText = ""
    private var portText = ""

    private var exchange = Exchange()
    private var serial = 0
    private var queue = CircularBuffer<QueuedPart>()
    private var isOpen = true
    private var closeWhenIdle = false

    private var readPending = false
    private var inReadBatch = false
    private var clientFlushNeeded = false
    private var upstreamFlushNeeded = false

    private var idleSince = NIODeadline.now()
    private var timer: Scheduled<Void>? = nil

    private static let maxQueuedParts = 64
    private static let maxPendingBytes = 256 * 1024

    init(loop: LoopContext, limits: ProxyLimits) {
        self.loop = loop
        self.limits = limits
    }

    /// The decoder this handler removes when the connection becomes a tunnel.
    func setDecoder(_ decoder: any RemovableChannelHandler & AnyObject) {
        self.decoder = decoder
    }

    private var logger: Logger { loop.shared.logger }

    // MARK: Channel lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        portText = String(loop.shared.listenPort.load(ordering: .relaxed))
        if let remote = context.channel.remoteAddress {
            clientIPText = remote.ipAddress ?? ""
            clientIP = IPAddress(clientIPText)
        }
        loop.clients[ObjectIdentifier(self)] = self
        if loop.draining { closeWhenIdle = true }
        armTimer(in: min(limits.headerReadTimeout, limits.clientIdleTimeout))
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown()
    }

    private func teardown() {
        guard isOpen else { return }
        isOpen = false
        progress.rejected = true
        timer?.cancel()
        timer = nil
        loop.clients.removeValue(forKey: ObjectIdentifier(self))
        abandonUpstream()
        queue.removeAll()
        exchange.pending.removeAll()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard isOpen, !progress.rejected else { return }
        if let parserError = error as? HTTPParserError {
            let status = parserError == .headerOverflow ? 431 : 400
            let message = status == 431 ? "request header fields too large" : "malformed request: \(parserError)"
            logger.debug("refusing client request", metadata: ["client": "\(clientIPText)", "cause": "\(parserError)"])
            rejectHead(status: status, message: message)
        } else {
            logger.debug("client connection error", metadata: ["client": "\(clientIPText)", "error": "\(error)"])
            closeClient()
        }
    }

    // MARK: Reading from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard isOpen, !progress.rejected else { return }
        inReadBatch = true
        let part = unwrapInboundIn(data)
        switch part {
        case .head:
            progress.headReceived()
        case .end:
            progress.messageEnded()
        case .body:
            break
        }
        if queue.isEmpty && (exchange.phase == .idle || !exchange.requestComplete) {
            handle(part)
        } else {
            queue.append(.part(part))
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
            context.flush()
        }
    }

    func read(context: ChannelHandlerContext) {
        if shouldPauseReading {
            readPending = true
        } else {
            context.read()
        }
    }

    private var shouldPauseReading: Bool {
        if queue.count >= Self.maxQueuedParts { return true }
        switch exchange.phase {
        case .connecting:
            return exchange.pendingBytes > Self.maxPendingBytes
        case .active, .tunnel:
            if let upstream = exchange.upstream, !exchange.requestComplete || exchange.phase == .tunnel {
                return !upstream.isWritable
            }
            return false
        case .idle, .answered:
            return false
        }
    }

    private func resumeReadingIfPossible() {
        guard readPending, isOpen, !shouldPauseReading else { return }
        readPending = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            exchange.upstream?.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            if exchange.phase == .idle {
                start(head)
            }
        case .body(let body):
            requestBody(body)
        case .end:
            requestEnd()
        }
    }

    /// Feeds queued parts once the current exchange no longer needs the client's bytes.
    private func drainQueue() {
        while isOpen, let first = queue.first {
            switch first {
            case .reject(let status, let message):
                guard exchange.phase == .idle else { return }
                queue.removeFirst()
                respondAndClose(status: status, message: message)
                return
            case .part(let part):
                if exchange.phase == .idle {
                    queue.removeFirst()
                    if case .head = part { handle(part) }
                } else if !exchange.requestComplete {
                    queue.removeFirst()
                    handle(part)
                } else {
                    return
                }
            }
        }
    }

    // MARK: Starting a request

    private func start(_ head: HTTPRequestHead) {
        let configuration = loop.shared.configuration.load(ordering: .acquiring)
        serial &+= 1
        exchange = Exchange()
        exchange.serial = serial
        exchange.requestId = loop.requestIds.next()
        exchange.clientMinor = head.version.minor
        exchange.isHEAD = head.method == .HEAD
        exchange.phase = .answered
        let facts = RequestFacts(head.headers)
        exchange.clientRequestId = facts.clientRequestId
        exchange.clientKeepAlive =
            !closeWhenIdle && (head.version.minor >= 1 ? !facts.connectionClose : facts.connectionKeepAlive)
        exchange.hasBody = facts.hasBody
        exchange.chunkedBody = facts.chunked

        if let invalid = facts.invalid {
            return answer(status: 400, message: "malformed request: \(invalid)", close: true)
        }
        if facts.host == nil && head.version.minor >= 1 {
            return answer(status: 400, message: "malformed request: HTTP/1.1 requires a Host header", close: true)
        }
        if head.method == .CONNECT {
            return answer(status: 400, message: "CONNECT is not supported", close: true)
        }
        if head.uri.utf8.count > limits.maxURILength {
            return answer(status: 414, message: "request URI too long", close: true)
        }
        if head.headers.count > limits.maxHeaderCount {
            return answer(status: 431, message: "too many request header fields", close: true)
        }
        guard
            let route = configuration.router.route(
                method: head.method,
                host: facts.host.map { Substring($0) },
                uri: Substring(head.uri),
                headers: head.headers
            )
        else {
            return answer(status: 404, message: "no route matched", close: exchange.hasBody)
        }
        exchange.route = route
        exchange.bodyLimit = route.maxBodyBytes ?? limits.maxBodyBytes
        if let length = facts.contentLength, length > exchange.bodyLimit {
            return answer(status: 413, message: "request body larger than \(exchange.bodyLimit) bytes", close: true)
        }
        exchange.upgradeRequested = facts.connectionUpgrade && facts.upgrade != nil
        exchange.idempotent = Self.isIdempotent(head.method)
        exchange.attemptsLeft = route.service.retries

        var buffer = context.channel.allocator.buffer(capacity: UpstreamRequestWriter.estimatedSize(head, route))
        UpstreamRequestWriter.write(
            head: head,
            facts: facts,
            route: route,
            forwarding: .init(clientIP: clientIPText, proto: "http", port: portText, requestId: exchange.requestId),
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
    private func attempt() {
        guard let route = exchange.route else { return }
        let context = SelectionContext(clientIP: clientIP, hashKey: route.hashKey, tried: exchange.tried)
        guard let address = route.service.selector.select(context, loopIndex: loop.index) else {
            logger.info(
                "no upstream available",
                metadata: ["service": "\(route.service.name)", "request_id": "\(exchange.requestIdText)"]
            )
            return fail(status: 503, message: "no upstream available")
        }
        exchange.address = address
        exchange.reported = false
        let pool = loop.pool(for: address)
        if let connection = pool.take() {
            bind(connection)
            if !inReadBatch { flushUpstream() }
        } else {
            connect(pool, service: route.service)
        }
    }

    private func connect(_ pool: UpstreamPool, service: ProxyService) {
        guard let target = pool.socketAddress else {
            report(.connectFailure)
            return retryOrFail(status: 502, message: "invalid upstream address \(pool.address)")
        }
        exchange.phase = .connecting
        let serial = exchange.serial
        let address = pool.address
        pool.opened += 1
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(service.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnection(address: address))
                }
            }
            .connect(to: target)
            .assumeIsolated()
            .whenComplete { [self] result in
                self.connected(result, pool: pool, serial: serial)
            }
    }

    private func connected(_ result: Result<any Channel, any Error>, pool: UpstreamPool, serial: Int) {
        switch result {
        case .success(let channel):
            guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                channel.close(promise: nil)
                return
            }
            connection.pool = pool
            guard isOpen, serial == exchange.serial, exchange.phase == .connecting else {
                // The exchange ended while connecting: keep the connection for someone else.
                pool.release(connection, now: .now())
                return
            }
            bind(connection)
            flushUpstream()
            resumeReadingIfPossible()
        case .failure(let error):
            guard isOpen, serial == exchange.serial, exchange.phase == .connecting else { return }
            let timedOut: Bool
            if case ChannelError.connectTimeout = error { timedOut = true } else { timedOut = false }
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

    private func bind(_ connection: UpstreamConnection) {
        guard let route = exchange.route else { return }
        exchange.phase = .active
        exchange.upstream = connection
        connection.owner = self
        connection.begin(
            headRequest: exchange.isHEAD,
            dechunk: exchange.clientMinor == 0,
            readTimeout: route.service.readTimeout,
            writeTimeout: route.service.writeTimeout
        )
        exchange.sentAt = .now()
        if let head = exchange.upstreamHead { connection.write(head) }
        if !exchange.pending.isEmpty {
            for body in exchange.pending { writeBody(body, to: connection) }
            exchange.pending.removeAll()
        }
        exchange.pendingBytes = 0
        if exchange.requestComplete { finishRequest(on: connection) }
        upstreamFlushNeeded = true
    }

    // MARK: Request body

    private func requestBody(_ body: ByteBuffer) {
        switch exchange.phase {
        case .connecting, .active:
            exchange.bodyReceived += Int64(body.readableBytes)
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
        case .idle, .answered, .tunnel:
            break
        }
    }

    private func writeBody(_ body: ByteBuffer, to connection: UpstreamConnection) {
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

    private func requestEnd() {
        exchange.requestComplete = true
        switch exchange.phase {
        case .active:
            if let connection = exchange.upstream {
                finishRequest(on: connection)
                upstreamFlushNeeded = true
                if !inReadBatch { flushUpstream() }
            }
        case .answered:
            finishExchange()
        case .connecting, .idle, .tunnel:
            break
        }
    }

    private func finishRequest(on connection: UpstreamConnection) {
        if exchange.chunkedBody {
            connection.write(ByteBuffer(staticString: "0\r\n\r\n"))
        }
        exchange.requestSent = true
        connection.requestSent()
    }

    // MARK: Upstream events

    func upstreamHead(_ head: ResponseHead) {
        if head.isInformational {
            if exchange.clientMinor >= 1 {
                context.write(wrapOutboundOut(head.bytes), promise: nil)
                clientFlushNeeded = true
            }
            return
        }
        if head.status >= 500 {
            report(.httpStatus(head.status))
        } else {
            report(.success(latencyNanoseconds: (NIODeadline.now() - exchange.sentAt).nanoseconds))
        }
        var keep = exchange.clientKeepAlive && !closeWhenIdle
        switch head.framing {
        case .untilClose, .tunnel:
            keep = false
        case .chunked:
            if exchange.clientMinor == 0 { keep = false }
        case .none, .length:
            break
        }
        if exchange.upgradeRequested && head.status != 101 { keep = false }
        exchange.keepClient = keep
        exchange.responseStarted = true
        let tail: ByteBuffer
        if head.framing == .tunnel {
            tail = loop.tailKeepAlive
        } else if !keep {
            tail = loop.tailClose
        } else {
            tail = exchange.clientMinor == 0 ? loop.tailKeepAlive10 : loop.tailKeepAlive
        }
        let bytes = head.bytes
        let headLength = bytes.readableBytes - 2  // the final CRLF is replaced by the tail
        // Relay the head as slices of the read buffer, leaving out hop-by-hop lines: no copy.
        var cursor = 0
        head.dropped.forEachInOrder { range in
            if range.lowerBound > cursor,
                let part = bytes.getSlice(at: bytes.readerIndex + cursor, length: range.lowerBound - cursor)
            {
                context.write(wrapOutboundOut(part), promise: nil)
            }
            cursor = max(cursor, range.upperBound)
        }
        if headLength > cursor, let part = bytes.getSlice(at: bytes.readerIndex + cursor, length: headLength - cursor) {
            context.write(wrapOutboundOut(part), promise: nil)
        }
        context.write(wrapOutboundOut(tail), promise: nil)
        clientFlushNeeded = true
        if head.framing == .tunnel {
            startTunnel()
        }
    }

    func upstreamBody(_ body: ByteBuffer) {
        context.write(wrapOutboundOut(body), promise: nil)
        clientFlushNeeded = true
        if !context.channel.isWritable {
            exchange.upstream?.pauseReading()
        }
    }

    func upstreamReadComplete() {
        if clientFlushNeeded {
            clientFlushNeeded = false
            context.flush()
        }
    }

    func upstreamBecameWritable() {
        resumeReadingIfPossible()
    }

    func upstreamEnd(_ connection: UpstreamConnection) {
        guard exchange.upstream === connection else { return }
        report(.released)
        exchange.upstream = nil
        connection.owner = nil
        if connection.reusable && exchange.requestSent && exchange.phase == .active, let pool = connection.pool {
            pool.release(connection, now: .now())
        } else {
            connection.close()
        }
        if !exchange.keepClient || !exchange.requestComplete {
            return closeClientAfterFlush()
        }
        finishExchange()
    }

    func upstreamFailed(_ connection: UpstreamConnection, _ failure: UpstreamFailure) {
        guard exchange.upstream === connection else { return }
        exchange.upstream = nil
        connection.owner = nil
        connection.close()
        report(failure.isTimeout ? .timeout : .failure)
        logger.info(
            "upstream exchange failed",
            metadata: [
                "address": "\(connection.address)", "cause": "\(failure.description)",
                "request_id": "\(exchange.requestIdText)",
            ]
        )
        if exchange.responseStarted {
            return closeClientAfterFlush()
        }
        let retryable = exchange.idempotent && !exchange.hasBody && !exchange.upgradeRequested
        let status = failure.isTimeout ? 504 : 502
        if retryable {
            retryOrFail(status: status, message: failure.description)
        } else {
            fail(status: status, message: failure.description)
        }
        flushClient()
    }

    // MARK: Tunnel

    private func startTunnel() {
        exchange.phase = .tunnel
        progress.awaitingHead = false
        guard let decoder else { return closeClientAfterFlush() }
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(ClientTunnelHandler(proxy: self), position: .after(decoder))
            pipeline.removeHandler(decoder, promise: nil)
        } catch {
            closeClientAfterFlush()
        }
    }

    func tunnelFromClient(_ buffer: ByteBuffer) {
        guard let connection = exchange.upstream else { return }
        connection.write(buffer)
        upstreamFlushNeeded = true
        if !inReadBatch { flushUpstream() }
    }

    // MARK: Answers and endings

    private func retryOrFail(status: Int, message: String) {
        if let address = exchange.address { exchange.tried.append(address) }
        if exchange.attemptsLeft > 0 {
            exchange.attemptsLeft -= 1
            exchange.phase = .answered
            attempt()
        } else {
            fail(status: status, message: message)
        }
    }

    /// Answers the current request with an error of the proxy's own.
    private func fail(status: Int, message: String) {
        abandonUpstream()
        if exchange.responseStarted {
            return closeClientAfterFlush()
        }
        answer(
            status: status, message: message,
            close: (exchange.hasBody && !exchange.requestComplete) || !exchange.clientKeepAlive
        )
    }

    private func answer(status: Int, message: String, close: Bool) {
        exchange.phase = .answered
        exchange.responseStarted = true
        let keep = !close && exchange.clientKeepAlive
        exchange.keepClient = keep
        let buffer = ErrorResponse.make(
            status: status, message: message, requestId: exchange.requestIdText, close: !keep,
            allocator: context.channel.allocator
        )
        context.write(wrapOutboundOut(buffer), promise: nil)
        clientFlushNeeded = true
        if !keep {
            progress.rejected = true
            return closeClientAfterFlush()
        }
        if exchange.requestComplete { finishExchange() }
    }

    /// A request the decoder (or the guard) refused: answered in order after earlier requests, then close.
    func rejectHead(status: Int, message: String) {
        guard isOpen, !progress.rejected else { return }
        if exchange.phase != .idle && !exchange.requestComplete && queue.isEmpty {
            // The body of the request in progress is malformed: that request fails, nothing else follows.
            abandonUpstream()
            if exchange.responseStarted { return closeClientAfterFlush() }
            return answer(status: status, message: message, close: true)
        }
        progress.rejected = true
        if exchange.phase == .idle && queue.isEmpty {
            respondAndClose(status: status, message: message)
        } else {
            queue.append(.reject(status: status, message: message))
        }
    }

    private func respondAndClose(status: Int, message: String) {
        exchange = Exchange()
        exchange.requestId = loop.requestIds.next()
        exchange.phase = .answered
        exchange.responseStarted = true
        let buffer = ErrorResponse.make(
            status: status, message: message, requestId: exchange.requestIdText, close: true,
            allocator: context.channel.allocator
        )
        context.write(wrapOutboundOut(buffer), promise: nil)
        closeClientAfterFlush()
    }

    private func finishExchange() {
        exchange.phase = .idle
        exchange.route = nil
        idleSince = .now()
        if closeWhenIdle && queue.isEmpty {
            return closeClientAfterFlush()
        }
        drainQueue()
        resumeReadingIfPossible()
        if !inReadBatch { flushClient() }
    }

    /// Gives up the upstream side of the current exchange: a connection mid-exchange is never reused.
    private func abandonUpstream() {
        if let connection = exchange.upstream {
            exchange.upstream = nil
            connection.owner = nil
            connection.close()
        }
        report(.released)
        exchange.pending.removeAll()
        exchange.pendingBytes = 0
        if exchange.phase == .connecting { exchange.phase = .answered }
    }

    private func report(_ outcome: UpstreamOutcome) {
        guard !exchange.reported, let address = exchange.address, let route = exchange.route else { return }
        exchange.reported = true
        route.service.selector.report(address, outcome: outcome)
    }

    private func flushUpstream() {
        upstreamFlushNeeded = false
        exchange.upstream?.flush()
    }

    private func flushClient() {
        clientFlushNeeded = false
        context.flush()
    }

    private func closeClient() {
        guard isOpen else { return }
        context.close(promise: nil)
    }

    private func closeClientAfterFlush() {
        guard isOpen else { return }
        progress.rejected = true
        clientFlushNeeded = false
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            self.context.close(promise: nil)
        }
    }

    /// Graceful shutdown: close now when idle, else after the response in progress.
    func closeWhenDone() {
        closeWhenIdle = true
        if exchange.phase == .idle && queue.isEmpty { closeClientAfterFlush() }
    }

    // MARK: Header read and idle timeouts

    private func armTimer(in delay: TimeAmount) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            self.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard isOpen else { return }
        let now = NIODeadline.now()
        var next = limits.headerReadTimeout
        if exchange.phase == .idle && queue.isEmpty && !progress.rejected {
            if let started = progress.startedAt, progress.awaitingHead {
                let elapsed = now - started
                if elapsed >= limits.headerReadTimeout {
                    logger.debug("request head timed out", metadata: ["client": "\(clientIPText)"])
                    respondAndClose(status: 408, message: "request header read timed out")
                    return
                }
                next = limits.headerReadTimeout - elapsed
            } else {
                let elapsed = now - idleSince
                if elapsed >= limits.clientIdleTimeout {
                    closeClient()
                    return
                }
                next = min(next, limits.clientIdleTimeout - elapsed)
            }
        }
        armTimer(in: max(next, .milliseconds(1)))
    }
}
