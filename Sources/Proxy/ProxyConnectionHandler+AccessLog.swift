#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Balancer
import NIOCore
import NIOHTTP1

/// Filling in the access-log line of the current exchange. Every call returns at once when the access log is
/// off (`exchange.log` is nil); the line is written once, when the exchange ends or the connection goes.
extension ProxyConnectionHandler {
    func logStart(method: HTTPMethod, uri: String) {
        guard loop.shared.accessLog != nil else { return }
        exchange.log = AccessLogEntry(startedAt: Self.wallClockMilliseconds(), clientIP: clientIPText,
                                      method: method.rawValue, uri: uri)
        exchange.logStarted = .now()
    }

    func logRoute(_ route: ProxyRoute) {
        guard exchange.log != nil else { return }
        exchange.log?.route = route.name
        exchange.log?.service = route.service.name
        exchange.log?.upstream = route.service.upstream
    }

    func logTry(_ address: Address) {
        guard exchange.log != nil else { return }
        exchange.log?.tries.append(AccessLogEntry.Try(address: address.description, outcome: "pending"))
        exchange.tryStarted = .now()
    }

    /// The current try ended without a response: `outcome` names how, `flag` says it in Envoy's terms.
    func logTryFailed(_ outcome: String, flag: AccessLogEntry.Flags) {
        guard exchange.log != nil, let last = exchange.log?.tries.indices.last else { return }
        exchange.log?.tries[last].outcome = outcome
        exchange.log?.flags.insert(flag)
    }

    /// The current try was passed over without a verdict (its address is at its connection limit).
    func logTryPassedOver() {
        guard exchange.log != nil, let last = exchange.log?.tries.indices.last else { return }
        exchange.log?.tries[last].outcome = "at_connection_limit"
    }

    func logConnected() {
        guard exchange.log != nil, let last = exchange.log?.tries.indices.last else { return }
        let connect = Self.milliseconds(NIODeadline.now() - exchange.tryStarted)
        exchange.log?.tries[last].connectMilliseconds = connect
        exchange.log?.upstreamConnectMilliseconds = connect
    }

    func logResponseHead(status: Int) {
        guard exchange.log != nil else { return }
        let ttfb = Self.milliseconds(NIODeadline.now() - exchange.sentAt)
        if let last = exchange.log?.tries.indices.last {
            exchange.log?.tries[last].outcome = "ok"
            exchange.log?.tries[last].status = status
            exchange.log?.tries[last].ttfbMilliseconds = ttfb
        }
        exchange.log?.status = status
        exchange.log?.upstreamStatus = status
        exchange.log?.upstreamTTFBMilliseconds = ttfb
    }

    func logUpstreamEnd() {
        guard exchange.log != nil else { return }
        // Read before writing: `exchange.log?.x = f(exchange)` would read `exchange` inside its own modify access.
        let total = Self.milliseconds(NIODeadline.now() - exchange.sentAt)
        exchange.log?.upstreamTotalMilliseconds = total
    }

    func logBytesOut(_ count: Int) {
        guard exchange.log != nil else { return }
        exchange.log?.bytesOut += Int64(count)
    }

    func logAnswer(status: Int, bytes: Int) {
        guard exchange.log != nil else { return }
        exchange.log?.status = status
        exchange.log?.bytesOut += Int64(bytes)
    }

    /// Writes the line (once). A response that did not reach its end means the client went away (DC).
    func emitLog() {
        guard var entry = exchange.log.take() else { return }
        entry.requestId = exchange.requestIdText
        entry.bytesIn = exchange.bodyReceived
        entry.totalMilliseconds = Self.milliseconds(NIODeadline.now() - exchange.logStarted)
        if !exchange.responseComplete {
            entry.flags.insert(.clientDisconnected)
            // As nginx logs it: the client closed the connection before a response was sent.
            if entry.status == 0 { entry.status = 499 }
        }
        if let last = entry.tries.indices.last, entry.tries[last].outcome == "pending" {
            entry.tries[last].outcome = "abandoned"
        }
        loop.log(entry)
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
