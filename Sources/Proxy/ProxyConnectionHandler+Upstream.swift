import Balancer
import Logging
import NIOCore
import NIOHTTP1

/// Events from the leased upstream connection, relayed to the client.
extension ProxyConnectionHandler {
    // MARK: Upstream events

    func upstreamHead(_ head: ResponseHead) {
        if head.isInformational {
            if exchange.clientMinor >= 1 {
                send(head.bytes, context)
                clientFlushNeeded = true
            }
            return
        }
        let latency = (loop.now - exchange.sentAt).nanoseconds
        logResponseHead(status: head.status)
        report(head.status >= 400 ? .httpStatus(head.status, latencyNanoseconds: latency)
                                  : .success(latencyNanoseconds: latency))
        guard enter(.responseHead) else { return }
        var keep = exchange.clientKeepAlive && !state.draining
        switch head.framing {
        case .untilClose, .tunnel:
            keep = false
        case .chunked:
            if exchange.clientMinor == 0 { keep = false }
        case .none, .length:
            break
        }
        if exchange.upgradeRequested && head.status != 101 { keep = false }
        // An answer before the whole request arrived (a 413, a 401 to `Expect: 100-continue`): the rest of the
        // body may never come, so the connection cannot carry another request. Say so in this response.
        if !state.requestComplete { keep = false }
        exchange.keepClient = keep
        let tail: ByteBuffer
        if head.framing == .tunnel {
            tail = loop.tailKeepAlive
        } else if !keep {
            tail = loop.tailClose
        } else {
            tail = exchange.clientMinor == 0 ? loop.tailKeepAlive10 : loop.tailKeepAlive
        }
        // The head is copied into one buffer without its hop-by-hop lines and held back, so a small body
        // that arrives in the same read joins it: a typical response leaves in one write.
        var out = responseBuffer.take() ?? context.channel.allocator.buffer(capacity: 1024)
        out.clear()
        // Lines the route adds are short (a cookie); a head that outgrows the estimate is measured again.
        let added = exchange.responseHeaders
        out.writeHead(RelayedResponseHead(head: head, added: added, tail: tail),
                      estimate: head.bytes.readableBytes + tail.readableBytes + (added == nil ? 0 : 256))
        heldHead = out
        clientFlushNeeded = true
        if head.framing == .tunnel {
            writeHeldHead()
            startTunnel()
        }
    }

    /// Bodies up to this size are copied behind a held head rather than written on their own.
    static let coalescedBodyBytes = 16 * 1024

    func upstreamBody(_ body: ByteBuffer) {
        if var out = heldHead.take() {
            if body.readableBytes <= Self.coalescedBodyBytes {
                out.writeImmutableBuffer(body)
                logBytesOut(out.readableBytes)
                send(out, context)
            } else {
                logBytesOut(out.readableBytes + body.readableBytes)
                send(out, context)
                send(body, context)
            }
            keepForReuse(out)
        } else {
            logBytesOut(body.readableBytes)
            send(body, context)
        }
        clientFlushNeeded = true
        if !context.channel.isWritable {
            exchange.upstream?.pauseReading()
        }
    }

    /// Keeps a small assembly buffer for the next response; a large one (a big head or coalesced body) is let
    /// go, so an idle keep-alive client does not pin kilobytes of memory.
    func keepForReuse(_ buffer: ByteBuffer) {
        responseBuffer = buffer.capacity <= Self.reusedBufferCapacity ? buffer : nil
    }

    static let reusedBufferCapacity = 8192

    /// Writes the response head held back for coalescing, if any; before anything else goes to the
    /// client after it (end of response, end of a read, failure, tunnel).
    func writeHeldHead() {
        guard let out = heldHead.take() else { return }
        logBytesOut(out.readableBytes)
        send(out, context)
        keepForReuse(out)
        clientFlushNeeded = true
    }

    func upstreamReadComplete() {
        writeHeldHead()
        if clientFlushNeeded {
            clientFlushNeeded = false
            flushOut(context)
        }
    }

    func upstreamBecameWritable() {
        resumeReadingIfPossible()
    }

    func upstreamEnd(_ connection: UpstreamConnection) {
        guard exchange.upstream === connection else { return }
        writeHeldHead()
        exchange.responseComplete = true
        logUpstreamEnd()
        report(.released)
        exchange.upstream = nil
        connection.owner = nil
        if connection.reusable && state.requestWasSent && state.stage == .responding, let pool = connection.pool {
            pool.release(connection, now: loop.now)
        } else {
            connection.close()
        }
        if !exchange.keepClient || !state.requestComplete {
            return closeClientAfterFlush()
        }
        finishExchange()
    }

    func upstreamFailed(_ connection: UpstreamConnection, _ failure: UpstreamFailure) {
        guard exchange.upstream === connection else { return }
        writeHeldHead()
        exchange.upstream = nil
        connection.owner = nil
        connection.close()
        logTryFailed(failure.isTimeout ? "timeout" : "failed",
                     flag: failure.isTimeout ? .upstreamTimeout : .upstreamConnectionFailure)
        report(failure.isTimeout ? .timeout : .failure)
        logger.info(
            "upstream exchange failed",
            metadata: [
                "address": "\(connection.address)", "cause": "\(failure.description)",
                "request_id": "\(exchange.requestIdText)",
            ]
        )
        if state.responseStarted {
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

    func startTunnel() {
        guard enter(.switchedProtocols) else { return }
        // The 101 went out; what follows is not an HTTP response.
        exchange.responseComplete = true
        // Bytes the client sent after its upgrade request waited in the queue.
        drainQueue()
    }

    func tunnelFromClient(_ buffer: ByteBuffer) {
        guard let connection = exchange.upstream else { return }
        connection.write(buffer)
        upstreamFlushNeeded = true
        if !inReadBatch { flushUpstream() }
    }
}
