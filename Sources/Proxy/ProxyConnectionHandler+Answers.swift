import Balancer
import Logging
import NIOCore
import NIOHTTP1

/// The proxy's own answers, the end of an exchange, and client-side timeouts.
extension ProxyConnectionHandler {
    // MARK: Answers and endings

    func retryOrFail(status: Int, message: String) {
        // A retry may go to an address passed over at its connection limit: it was not tried.
        forgetPassedOver()
        exchange.waitAtLimit = false
        if let address = exchange.address { exchange.tried.append(address) }
        exchange.lastFailure = (status, message)
        if exchange.attemptsLeft > 0 {
            exchange.attemptsLeft -= 1
            guard enter(.tryFailed) else { return }
            attempt()
        } else {
            logFlag(.retriesExhausted, ifTriesAbove: 1)
            fail(status: status, message: message)
        }
    }

    /// Answers the current request with an error of the proxy's own.
    func fail(status: Int, message: String) {
        abandonUpstream()
        if state.responseStarted {
            return closeClientAfterFlush()
        }
        answer(
            status: status, message: message,
            close: (exchange.hasBody && !state.requestComplete) || !exchange.clientKeepAlive
        )
    }

    func answer(status: Int, message: String, close: Bool, extraHeaders: [(name: String, value: String)] = []) {
        guard enter(.ownAnswer) else { return }
        let keep = !close && exchange.clientKeepAlive && !exchange.upgradeRequested
        exchange.keepClient = keep
        let buffer = ErrorResponse.make(
            status: status, message: message, requestId: exchange.requestIdText, close: !keep,
            extraHeaders: extraHeaders, allocator: context.channel.allocator
        )
        exchange.responseComplete = true
        logAnswer(status: status, bytes: buffer.readableBytes)
        send(buffer, context)
        clientFlushNeeded = true
        if !keep {
            state.refuse()
            return closeClientAfterFlush()
        }
        if state.requestComplete { finishExchange() }
    }

    /// A request the decoder (or the guard) refused: answered in order after earlier requests, then close.
    func rejectHead(status: Int, message: String) {
        guard state.acceptsInput else { return }
        switch state.refuseUnframable(status: status, message: message) {
        case nil:
            // The body of the request in progress is malformed: that request fails, nothing else follows.
            abandonUpstream()
            if state.responseStarted { return closeClientAfterFlush() }
            answer(status: status, message: message, close: true)
        case .handle:
            respondAndClose(status: status, message: message)
        case .queue:
            break  // answered in order, after the exchanges before it
        }
    }

    func respondAndClose(status: Int, message: String) {
        guard enter(.ownAnswer) else { return }
        exchange = Exchange()
        exchange.requestId = loop.requestIds.next()
        let buffer = ErrorResponse.make(
            status: status, message: message, requestId: exchange.requestIdText, close: true,
            allocator: context.channel.allocator
        )
        // A request refused before it could be parsed: logged without method or target.
        logStart(method: .RAW(value: "-"), uri: "-")
        exchange.responseComplete = true
        logAnswer(status: status, bytes: buffer.readableBytes)
        send(buffer, context)
        closeClientAfterFlush()
    }

    func finishExchange() {
        guard enter(.exchangeDone) else { return }
        emitLog()
        exchange.service = nil
        if let head = exchange.upstreamHead.take(), head.capacity <= Self.reusedBufferCapacity {
            requestBuffer = head
        }
        idleSince = loop.now
        if state.draining && state.isIdle {
            return closeClientAfterFlush()
        }
        drainQueue()
        resumeReadingIfPossible()
        if !inReadBatch { flushClient() }
    }

    /// Gives up the upstream side of the current exchange: a connection mid-exchange is never reused.
    func abandonUpstream() {
        stopWaiting()
        if let connection = exchange.upstream {
            exchange.upstream = nil
            connection.owner = nil
            connection.close()
        }
        report(.released)
        exchange.pending.removeAll()
        exchange.pendingBytes = 0
        _ = state.apply(.upstreamAbandoned)  // allowed in every stage
    }

    func report(_ outcome: UpstreamOutcome) {
        guard let service = exchange.service, let pick = exchange.pick else { return }
        exchange.pick = nil
        service.selector.report(pick, outcome: outcome)
    }

    func flushUpstream() {
        upstreamFlushNeeded = false
        exchange.upstream?.flush()
    }

    func flushClient() {
        clientFlushNeeded = false
        flushOut(context)
    }

    /// Writes `buffer` to the client: straight to the socket when this is its pipeline's only handler, else through
    /// the pipeline (TLS, NIO's loops).
    @inline(__always)
    func send(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        if let directOut {
            directOut.enqueue(buffer, promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    @inline(__always)
    func flushOut(_ context: ChannelHandlerContext) {
        if let directOut { directOut.flush0() } else { context.flush() }
    }

    func closeClient() {
        guard state.isOpen else { return }
        context.close(promise: nil)
    }

    func closeClientAfterFlush() {
        guard state.isOpen else { return }
        // Input may still be on its way: the rest of a request body, or pipelined requests.
        let unread = !state.requestComplete || !state.waiting.isEmpty || framer.partialHeadBytes > 0
        state.refuse()
        clientFlushNeeded = false
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { [self] result in
            guard let context = self.context else { return }
            if unread, case .success = result {
                self.linger(context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// Closing a socket that has unread input makes the kernel reset the connection, and the reset can destroy
    /// the answer before the client reads it (RFC 9112, section 9.6). So when the client may still be sending,
    /// the proxy shuts only its sending side, reads and drops what still arrives, and closes when the client
    /// does or after `limits.lingerTime`.
    func linger(_ context: ChannelHandlerContext) {
        guard state.isOpen, state.connection == .refusing else { return }
        state.linger()
        lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.lingerTime) { [self] in
            self.context?.close(promise: nil)
        }
        let shut = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: shut)
        shut.futureResult.assumeIsolated().whenFailure { [self] _ in
            self.context?.close(promise: nil)
        }
        if readPending {
            readPending = false
            context.read()
        }
    }

    /// Graceful shutdown: close now when idle, else after the response in progress.
    func closeWhenDone() {
        state.drain()
        guard state.isIdle, framer.partialHeadBytes == 0 else {
            // A request is in progress or arriving: its response carries `Connection: close`.
            return
        }
        // Idle: a request may already be on the wire, and closing under it would fail it. Wait a moment for it
        // (it is then answered with `Connection: close`); a connection still idle after that is closed.
        let expected = serial
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.drainIdleGrace) { [self] in
            guard state.isOpen, serial == expected, state.isIdle, framer.partialHeadBytes == 0 else { return }
            closeClientAfterFlush()
        }
    }

    /// How long a draining node keeps an idle keep-alive connection open for a request already on its way.
    static let drainIdleGrace: TimeAmount = .milliseconds(500)

    // MARK: Header read and idle timeouts

    func armTimer(in delay: TimeAmount) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            self.timerFired()
        }
    }

    func timerFired() {
        timer = nil
        guard state.isOpen else { return }
        let now = loop.now
        var next = min(limits.headerReadTimeout, limits.bodyReadTimeout)
        switch state.watch {
        case .headOrIdle:
            if let started = headStartedAt, framer.awaitingHead {
                let elapsed = now - started
                if elapsed >= limits.headerReadTimeout {
                    logger.debug("request head timed out", metadata: ["client": "\(clientIPText)"])
                    if serial == 0 && framer.partialHeadBytes == 0 {
                        // Nothing arrived (or a TLS handshake stalled): there is no one to answer.
                        closeClient()
                    } else {
                        respondAndClose(status: 408, message: "request header read timed out")
                    }
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
        case .body:
            // A body that stops arriving holds an upstream connection: bounded like the head.
            // Time spent with reads withheld for back-pressure is the upstream's, not the client's.
            if readPending {
                lastBodyActivity = now
            } else if now - lastBodyActivity >= limits.bodyReadTimeout {
                logger.debug("request body timed out", metadata: ["client": "\(clientIPText)"])
                abandonUpstream()
                if state.responseStarted { return closeClientAfterFlush() }
                return answer(status: 408, message: "request body read timed out", close: true)
            }
            next = min(next, limits.bodyReadTimeout - (now - lastBodyActivity))
        case .none:
            break
        }
        armTimer(in: max(next, .milliseconds(1)))
    }
}
