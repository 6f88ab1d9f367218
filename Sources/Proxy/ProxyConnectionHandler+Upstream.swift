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

    func startTunnel() {
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
}
