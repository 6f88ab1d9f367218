#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Balancer
import NIOCore
import NIOHTTP1

/// Filling in the access-log entry of the current exchange, for the access log and the metrics. Every call returns
/// at once when neither is on (`exchange.log` is nil); the entry is finished once, when the exchange ends or the
/// connection goes.
///
/// Each hook changes the entry in one access (`updateLog`): every separate `exchange.log?.x = …` on this class's
/// stored property would pay a dynamic exclusivity check of its own.
extension ProxyConnectionHandler {
    @inline(__always)
    func updateLog(_ body: (inout AccessLogEntry) -> Void) {
        guard exchange.log != nil else { return }
        // Not nil: checked on the line above, on this event loop.
        body(&exchange.log!)
    }

    func logStart(method: HTTPMethod, uri: String) {
        guard loop.shared.recordsRequests else { return }
        if loop.shared.accessLog != nil {
            exchange.log = AccessLogEntry(startedAt: Self.wallClockMilliseconds(), clientIP: clientIPText,
                                          method: method.rawValue, uri: uri)
        } else {
            // Metrics alone read neither the request line, the client nor the wall clock: not copied for them.
            exchange.log = AccessLogEntry(startedAt: 0, clientIP: "", method: "", uri: "")
        }
        // The tries list of an earlier entry, emptied: no allocation per request.
        exchange.log?.tries = loop.takeTriesStorage()
        exchange.logStarted = loop.now
    }

    func logRoute(_ route: ProxyRoute) {
        updateLog { entry in
            entry.route = route.name
            entry.service = route.service.name
            entry.upstream = route.service.upstream
        }
    }

    func logTry(_ address: Address, staleDNS: Bool) {
        guard exchange.log != nil else { return }
        updateLog { entry in
            entry.tries.append(AccessLogEntry.Try(address: address, outcome: "pending"))
            if staleDNS { entry.flags.insert(.servedStaleDNS) }
        }
        exchange.tryStarted = loop.now
    }

    /// The current try ended without a response: `outcome` names how, `flag` says it in Envoy's terms.
    func logTryFailed(_ outcome: String, flag: AccessLogEntry.Flags) {
        updateLog { entry in
            guard let last = entry.tries.indices.last else { return }
            entry.tries[last].outcome = outcome
            entry.flags.insert(flag)
        }
    }

    /// The current try was passed over without a verdict (its address is at its connection limit).
    func logTryPassedOver() {
        updateLog { entry in
            guard let last = entry.tries.indices.last else { return }
            entry.tries[last].outcome = "at_connection_limit"
        }
    }

    func logConnected() {
        guard exchange.log != nil else { return }
        let connect = Self.milliseconds(loop.now - exchange.tryStarted)
        updateLog { entry in
            guard let last = entry.tries.indices.last else { return }
            entry.tries[last].connectMilliseconds = connect
            entry.upstreamConnectMilliseconds = connect
        }
    }

    func logResponseHead(status: Int) {
        guard exchange.log != nil else { return }
        let ttfb = Self.milliseconds(loop.now - exchange.sentAt)
        updateLog { entry in
            if let last = entry.tries.indices.last {
                entry.tries[last].outcome = "ok"
                entry.tries[last].status = status
                entry.tries[last].ttfbMilliseconds = ttfb
            }
            entry.status = status
            entry.upstreamStatus = status
            entry.upstreamTTFBMilliseconds = ttfb
        }
    }

    func logUpstreamEnd() {
        guard exchange.log != nil else { return }
        let total = Self.milliseconds(loop.now - exchange.sentAt)
        updateLog { $0.upstreamTotalMilliseconds = total }
    }

    func logBytesOut(_ count: Int) {
        updateLog { $0.bytesOut += Int64(count) }
    }

    func logAnswer(status: Int, bytes: Int) {
        updateLog { entry in
            entry.status = status
            entry.bytesOut += Int64(bytes)
        }
    }

    func logFlag(_ flag: AccessLogEntry.Flags, ifTriesAbove count: Int = -1) {
        updateLog { entry in
            if entry.tries.count > count { entry.flags.insert(flag) }
        }
    }

    /// Writes the line (once). A response that did not reach its end means the client went away (DC).
    func emitLog() {
        guard var entry = exchange.log.take() else { return }
        if let client = exchange.clientRequestId { entry.requestId = client } else { entry.generatedId = exchange.requestId }
        entry.trace = exchange.trace
        entry.bytesIn = exchange.bodyReceived
        entry.totalMilliseconds = Self.milliseconds(loop.now - exchange.logStarted)
        if !exchange.responseComplete {
            entry.flags.insert(.clientDisconnected)
            // As nginx logs it: the client closed the connection before a response was sent.
            if entry.status == 0 { entry.status = 499 }
        }
        if let last = entry.tries.indices.last, entry.tries[last].outcome == "pending" {
            entry.tries[last].outcome = "abandoned"
        }
        loop.log(entry)
        loop.recycleTriesStorage(&entry.tries)
    }

    static func milliseconds(_ amount: TimeAmount) -> Double {
        Double(amount.nanoseconds) / 1e6
    }

    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
