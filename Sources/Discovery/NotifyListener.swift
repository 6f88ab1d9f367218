import DNSWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Listens for DNS NOTIFY (RFC 1996) over UDP and re-resolves the watched names of a changed zone at once,
/// so a change reaches traffic in well under a TTL without polling harder. TTLs still drive every other
/// refresh: a NOTIFY only makes one sooner.
///
/// Thin I/O: `NotifyGate` decides about each packet, `ZoneRefreshLimiter` coalesces refreshes (at most one
/// per zone per `interval`), `DNSWatcher.refreshNow` queries. Every packet is counted by outcome.
public final class NotifyListener: Sendable {
    private struct State {
        var limiter: ZoneRefreshLimiter
        var outcomes: [NotifyGate.Outcome: Int] = [:]
        var refreshes = 0
        var channel: (any Channel)?
        var scheduled: [String: Task<Void, Never>] = [:]
        var stopped = false
    }

    public let host: String
    private let requestedPort: Int
    private let gate: NotifyGate
    private let watcher: DNSWatcher
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    public init(host: String, port: Int, gate: NotifyGate, watcher: DNSWatcher,
                interval: Duration = .milliseconds(100), logger: Logger = Logger(label: "switchyard.notify")) {
        self.host = host
        self.requestedPort = port
        self.gate = gate
        self.watcher = watcher
        self.logger = logger
        state = NIOLockedValueBox(State(limiter: ZoneRefreshLimiter(interval: interval)))
    }

    /// Binds the UDP socket; returns the bound port (useful with port 0).
    public func start() async throws -> Int {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NotifyHandler(listener: self))
                }
            }
            .bind(host: host, port: requestedPort)
            .get()
        state.withLockedValue { $0.channel = channel }
        let port = channel.localAddress?.port ?? requestedPort
        logger.info("listening for DNS NOTIFY", metadata: ["address": "\(host):\(port)"])
        return port
    }

    /// Closes the socket and drops scheduled refreshes.
    public func stop() async {
        let (channel, tasks) = state.withLockedValue { state in
            state.stopped = true
            defer { state.channel = nil; state.scheduled = [:] }
            return (state.channel, Array(state.scheduled.values))
        }
        tasks.forEach { $0.cancel() }
        try? await channel?.close()
    }

    /// Packets by outcome (`accepted`, `malformed`, `source_refused`, ...) and `refreshes`: zone refreshes run.
    public var counters: [String: Int] {
        state.withLockedValue { state in
            var out: [String: Int] = ["refreshes": state.refreshes]
            for outcome in NotifyGate.Outcome.allCases { out[outcome.rawValue] = state.outcomes[outcome, default: 0] }
            return out
        }
    }

    /// Decides about one packet, starts the refresh it asks for, and returns the answer to send (if any).
    func handle(_ bytes: [UInt8], from source: IPAddress) -> [UInt8]? {
        let now = UInt64(max(0, Date().timeIntervalSince1970))
        let decision = gate.decide(bytes, from: source, now: now) { !watcher.names(inZone: $0).isEmpty }
        state.withLockedValue { $0.outcomes[decision.outcome, default: 0] += 1 }
        if decision.outcome == .accepted, let zone = decision.zone {
            logger.debug("DNS NOTIFY accepted", metadata: ["source": "\(source)", "detail": "\(decision.reason)"])
            notified(zone)
        } else {
            logger.debug("DNS NOTIFY refused", metadata: [
                "source": "\(source)", "outcome": "\(decision.outcome.rawValue)", "detail": "\(decision.reason)",
            ])
        }
        return decision.reply
    }

    private func notified(_ zone: String) {
        let now = ContinuousClock.now
        let action: ZoneRefreshLimiter.Action? = state.withLockedValue { state in
            state.stopped ? nil : state.limiter.notified(zone: zone, now: now)
        }
        switch action {
        case .refreshNow:
            refresh(zone)
        case .refreshAt(let instant):
            let task = Task { [weak self] in
                try? await Task.sleep(until: instant, clock: .continuous)
                guard !Task.isCancelled, let self else { return }
                let go = self.state.withLockedValue { state in
                    state.scheduled[zone] = nil
                    state.limiter.scheduledRefreshStarted(zone: zone, now: .now)
                    return !state.stopped
                }
                if go { self.refresh(zone) }
            }
            state.withLockedValue { $0.scheduled[zone] = task }
        case .coalesced, nil:
            break
        }
    }

    private func refresh(_ zone: String) {
        let count = watcher.refreshNow(watcher.names(inZone: zone))
        state.withLockedValue { $0.refreshes += 1 }
        logger.debug("refreshing a zone's watched names after NOTIFY", metadata: ["zone": "\(zone)", "names": "\(count)"])
    }
}

/// Hands each datagram to the listener and sends back its answer.
final class NotifyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let listener: NotifyListener

    init(listener: NotifyListener) {
        self.listener = listener
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard let text = envelope.remoteAddress.ipAddress, let address = IPAddress(text) else { return }
        guard let reply = listener.handle(bytes, from: NotifyHandler.unmapped(address)) else { return }
        var buffer = context.channel.allocator.buffer(capacity: reply.count)
        buffer.writeBytes(reply)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)),
                              promise: nil)
    }

    /// A socket error (an ICMP unreachable for an earlier answer) must not close the listener.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}

    /// `::ffff:a.b.c.d` (an IPv4 sender on a dual-stack socket) as the IPv4 address, so IPv4 allow-lists match.
    static func unmapped(_ address: IPAddress) -> IPAddress {
        if case .v6(0, let low) = address, low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
        return address
    }
}
