import NIOCore

/// The protocol state of one client connection, written down: where its current exchange stands, how much of the
/// request has arrived and gone upstream, whether the connection still takes requests, and the pipelined parts
/// waiting behind the exchange. It holds no channel and does no I/O: `ProxyConnectionHandler` tells it what
/// happened and carries out what it answers, so every state and every event can be driven in a unit test.
///
/// Transitions are one function, `Stage.after(_:)`: a pair it does not list is illegal, and the handler closes the
/// connection on one instead of guessing (see `apply(_:)`).
struct ClientConnectionState {
    /// Where the exchange in progress stands.
    enum Stage: CaseIterable, Sendable {
        /// No request in progress: reading the next head.
        case idle
        /// A head was framed; the proxy is choosing an address (also between tries). Never outlives one event.
        case routing
        /// Every address is at `upstream_max_connections`: waiting in one pool's queue.
        case queued
        /// Opening a new upstream connection.
        case connecting
        /// Bound to an upstream connection; no response byte has reached the client yet.
        case forwarding
        /// The upstream's response is being relayed: no more retries or answers of the proxy's own.
        case responding
        /// The proxy answered by itself; the rest of the request body is read and discarded.
        case answered
        /// Raw bytes both ways after a `101 Switching Protocols`.
        case tunnel
    }

    /// What happened to the exchange.
    enum Event: CaseIterable, Sendable {
        /// A request head was framed while idle.
        case headFramed
        /// Every address is at its limit: the request waits in a pool's queue.
        case queuedAtLimit
        /// A new upstream connection is being opened (after routing, or granted a slot while queued).
        case connectStarted
        /// An upstream connection was bound: an idle pooled one, a granted one, or a new one that connected.
        case upstreamBound
        /// The try failed before any response byte (connect refused or timed out, upstream failed or closed):
        /// route again.
        case tryFailed
        /// The upstream side was given up (an answer of the proxy's own or a close follows). A request that is
        /// not relaying a response goes back to routing; otherwise nothing changes.
        case upstreamAbandoned
        /// A final (non-1xx) response head arrived from the upstream.
        case responseHead
        /// The response head was a 101: the exchange becomes a tunnel.
        case switchedProtocols
        /// The proxy answered by itself.
        case ownAnswer
        /// The response reached its end and the request had too: the connection waits for the next head.
        case exchangeDone
    }

    /// How much of the current request has arrived from the client, and whether its end went upstream.
    enum RequestSide: Sendable {
        case receiving
        /// The client's request ended (`.end` framed).
        case received
        /// The request's end was written to the upstream connection too.
        case sent
    }

    /// Whether the connection reads more input. It only ever moves down this list.
    enum Connection: Comparable, Sendable {
        case open
        /// No more input is handled: the answers already due are written, then the connection closes.
        case refusing
        /// The answers are out and the sending side is shut; what the client still sends is read and dropped
        /// until it closes (a close with unread input would reset the connection and could destroy the answer).
        case lingering
        /// The channel is gone.
        case closed
    }

    /// A request part waiting behind the current exchange, or a request that could not be framed, to answer in
    /// order.
    enum Waiting {
        case part(RequestEvent)
        case reject(status: Int, message: String)
    }

    /// What to do with a framed client part (`receive(_:)`).
    enum Delivery: Equatable, Sendable {
        /// The current exchange takes it now.
        case handle
        /// It waits behind the current exchange (pipelining).
        case queue
    }

    /// What to do with the first waiting part (`nextQueued()`).
    enum QueuedStep: Sendable {
        /// Hand it to the exchange now (it was taken off the queue).
        case handle(RequestEvent)
        /// Answer a request that could not be framed with this error, then close (it was taken off the queue).
        case reject(status: Int, message: String)
        /// Leave it waiting: the current exchange still needs the connection.
        case wait
    }

    /// Which client-side deadline the connection timer watches.
    enum Watch: Equatable, Sendable {
        /// Between requests: the head read timeout while a head is arriving, else the idle timeout.
        case headOrIdle
        /// A request body that stops arriving while it holds (or waits for) an upstream connection.
        case body
        /// Nothing of the client's: the upstream's timeouts apply, or the connection is closing.
        case none
    }

    private(set) var stage = Stage.idle
    private(set) var request = RequestSide.received
    private(set) var connection = Connection.open
    /// The node shuts down gracefully: responses say `Connection: close`, and the connection closes when idle.
    /// Unlike refusing, requests already read (or on the wire) are still served.
    private(set) var draining = false
    /// Pipelined parts and refusals waiting behind the current exchange, in arrival order.
    private(set) var waiting: CircularBuffer<Waiting>

    /// More waiting parts than this, and the connection stops reading.
    static let maxWaitingParts = 64

    init() {
        waiting = CircularBuffer(initialCapacity: 4)
    }

    // MARK: Transitions

    /// Applies `event`; false when the pair is illegal, and nothing changed.
    @discardableResult
    mutating func apply(_ event: Event) -> Bool {
        guard let next = stage.after(event) else { return false }
        if event == .headFramed { request = .receiving }
        stage = next
        return true
    }

    /// The client's request ended.
    mutating func requestReceived() {
        if request == .receiving { request = .received }
    }

    /// The request's end was written upstream. Only a bound exchange writes upstream.
    @discardableResult
    mutating func requestSent() -> Bool {
        guard request != .receiving, stage == .forwarding || stage == .responding else { return false }
        request = .sent
        return true
    }

    /// The node drains: later responses close the connection.
    mutating func drain() { draining = true }
    /// Stops reading the client: what is being answered is the last thing this connection does.
    mutating func refuse() { lower(to: .refusing) }
    /// The answers are out: read and drop the client's last bytes until it closes.
    mutating func linger() { lower(to: .lingering) }
    /// The channel went away.
    mutating func close() {
        lower(to: .closed)
        waiting.removeAll()
    }

    private mutating func lower(to next: Connection) {
        if next > connection { connection = next }
    }

    // MARK: Decisions

    var isOpen: Bool { connection != .closed }
    /// The connection still reads and handles client input.
    var acceptsInput: Bool { connection < .refusing }
    var requestComplete: Bool { request != .receiving }
    var requestWasSent: Bool { request == .sent }
    /// A response byte went (or is going) to the client: no retry and no error answer any more.
    var responseStarted: Bool {
        switch stage {
        case .responding, .answered, .tunnel: return true
        case .idle, .routing, .queued, .connecting, .forwarding: return false
        }
    }
    /// No exchange in progress and nothing waiting behind it.
    var isIdle: Bool { stage == .idle && waiting.isEmpty }

    /// Decides where a framed client part goes: the one place pipelining is decided. The exchange in progress
    /// takes client bytes until its request is complete (a tunnel always does); after that, and behind anything
    /// already waiting, parts wait their turn.
    mutating func receive(_ part: RequestEvent) -> Delivery {
        if waiting.isEmpty && (stage == .idle || stage == .tunnel || request == .receiving) {
            return .handle
        }
        waiting.append(.part(part))
        return .queue
    }

    /// Whether a request that could not be framed is answered now or after the exchanges before it; either way
    /// the connection refuses further input. Returns nil when the request in progress is the one that is
    /// malformed: it fails itself (its body broke).
    mutating func refuseUnframable(status: Int, message: String) -> Delivery? {
        if stage != .idle && request == .receiving && waiting.isEmpty { return nil }
        refuse()
        if stage == .idle && waiting.isEmpty { return .handle }
        waiting.append(.reject(status: status, message: message))
        return .queue
    }

    /// The next waiting part the connection can take now. Parts that arrive for an exchange the proxy already
    /// finished (the body of a request it answered while idle) are dropped.
    mutating func nextQueued() -> QueuedStep {
        while let first = waiting.first {
            switch first {
            case .reject(let status, let message):
                guard stage == .idle else { return .wait }
                waiting.removeFirst()
                return .reject(status: status, message: message)
            case .part(let part):
                switch stage {
                case .tunnel:
                    waiting.removeFirst()
                    return .handle(part)
                case .idle:
                    waiting.removeFirst()
                    if case .head = part { return .handle(part) }
                case .routing, .queued, .connecting, .forwarding, .responding, .answered:
                    guard request == .receiving else { return .wait }
                    waiting.removeFirst()
                    return .handle(part)
                }
            }
        }
        return .wait
    }

    /// Whether reading the client should pause: too much waiting, too much body held before a connection is
    /// bound, or an upstream that does not take more. A lingering connection always reads (to drop).
    func shouldPauseReading(heldBytes: Int, maxHeldBytes: Int, upstreamWritable: Bool?) -> Bool {
        if connection == .lingering { return false }
        if waiting.count >= Self.maxWaitingParts { return true }
        switch stage {
        case .queued, .connecting:
            return heldBytes > maxHeldBytes
        case .forwarding, .responding, .tunnel:
            guard let upstreamWritable, request == .receiving || stage == .tunnel else { return false }
            return !upstreamWritable
        case .idle, .routing, .answered:
            return false
        }
    }

    /// What the client-side timer watches now.
    var watch: Watch {
        if stage == .idle && waiting.isEmpty && acceptsInput { return .headOrIdle }
        if request == .receiving {
            switch stage {
            case .queued, .connecting, .forwarding, .responding: return .body
            case .idle, .routing, .answered, .tunnel: return .none
            }
        }
        return .none
    }

    /// What a request body part is for in this stage.
    enum BodyUse: Equatable, Sendable {
        /// Write it to the bound upstream connection (the handler checks that one is bound).
        case forward
        /// Hold it until a connection is bound.
        case hold
        /// Read and dropped: the proxy answered, or there is no request to carry it.
        case discard
    }

    var bodyUse: BodyUse {
        switch stage {
        case .forwarding, .responding: return .forward
        case .routing, .queued, .connecting: return .hold
        case .idle, .answered, .tunnel: return .discard
        }
    }
}

extension ClientConnectionState.Stage {
    /// The stage `event` leads to, or nil when the event cannot happen here.
    func after(_ event: ClientConnectionState.Event) -> Self? {
        switch (self, event) {
        case (.idle, .headFramed):
            return .routing
        case (.routing, .queuedAtLimit):
            return .queued
        case (.routing, .connectStarted), (.queued, .connectStarted):
            return .connecting
        case (.routing, .upstreamBound), (.queued, .upstreamBound), (.connecting, .upstreamBound):
            return .forwarding
        // Queued: a granted slot whose address cannot be connected to.
        case (.routing, .tryFailed), (.queued, .tryFailed), (.connecting, .tryFailed), (.forwarding, .tryFailed):
            return .routing
        case (.queued, .upstreamAbandoned), (.connecting, .upstreamAbandoned), (.forwarding, .upstreamAbandoned):
            return .routing
        case (.idle, .upstreamAbandoned), (.routing, .upstreamAbandoned), (.responding, .upstreamAbandoned),
             (.answered, .upstreamAbandoned), (.tunnel, .upstreamAbandoned):
            return self
        case (.forwarding, .responseHead):
            return .responding
        case (.responding, .switchedProtocols):
            return .tunnel
        // A request refused while idle (before it could be framed) is answered from idle.
        case (.idle, .ownAnswer), (.routing, .ownAnswer), (.queued, .ownAnswer), (.connecting, .ownAnswer),
             (.forwarding, .ownAnswer):
            return .answered
        case (.responding, .exchangeDone), (.answered, .exchangeDone):
            return .idle
        default:
            return nil
        }
    }
}
