import NIOCore
import Testing
@testable import Proxy

/// The client connection's state machine without a channel: every stage against every event, the request side,
/// the connection's closing rules, and the pipelining, reading and timer decisions.
@Suite("Client connection state")
struct ClientConnectionStateTests {
    typealias State = ClientConnectionState
    typealias Stage = State.Stage
    typealias Event = State.Event

    /// The legal transitions, written out independently of `Stage.after`: anything not listed must be refused.
    static let legal: [Stage: [Event: Stage]] = [
        .idle: [.headFramed: .routing, .ownAnswer: .answered, .upstreamAbandoned: .idle],
        .routing: [
            .queuedAtLimit: .queued, .connectStarted: .connecting, .upstreamBound: .forwarding,
            .tryFailed: .routing, .upstreamAbandoned: .routing, .ownAnswer: .answered,
        ],
        .queued: [
            .connectStarted: .connecting, .upstreamBound: .forwarding, .tryFailed: .routing,
            .upstreamAbandoned: .routing, .ownAnswer: .answered,
        ],
        .connecting: [
            .upstreamBound: .forwarding, .tryFailed: .routing, .upstreamAbandoned: .routing, .ownAnswer: .answered,
        ],
        .forwarding: [
            .responseHead: .responding, .tryFailed: .routing, .upstreamAbandoned: .routing, .ownAnswer: .answered,
        ],
        .responding: [.switchedProtocols: .tunnel, .exchangeDone: .idle, .upstreamAbandoned: .responding],
        .answered: [.exchangeDone: .idle, .upstreamAbandoned: .answered],
        .tunnel: [.upstreamAbandoned: .tunnel],
    ]

    /// A legal way from a new connection to each stage.
    static let paths: [Stage: [Event]] = [
        .idle: [],
        .routing: [.headFramed],
        .queued: [.headFramed, .queuedAtLimit],
        .connecting: [.headFramed, .connectStarted],
        .forwarding: [.headFramed, .upstreamBound],
        .responding: [.headFramed, .upstreamBound, .responseHead],
        .answered: [.headFramed, .ownAnswer],
        .tunnel: [.headFramed, .upstreamBound, .responseHead, .switchedProtocols],
    ]

    func state(at stage: Stage) -> State {
        var state = State()
        for event in Self.paths[stage] ?? [] {
            holds(state.apply(event), "path to \(stage): \(event) refused in \(state.stage)")
        }
        #expect(state.stage == stage)
        return state
    }

    /// `#expect` for a condition that calls a mutating method, which the macro cannot evaluate itself.
    func holds(_ condition: Bool, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(condition, comment, sourceLocation: sourceLocation)
    }

    func head(_ text: String = "GET / HTTP/1.1\r\nHost: x\r\n\r\n") throws -> RequestEvent {
        var framer = RequestFramer(limits: ProxyLimits())
        var buffer = ByteBuffer(string: text)
        return try #require(try framer.next(&buffer))
    }

    func kind(_ event: RequestEvent) -> String {
        switch event {
        case .head: "head"
        case .body(let b): "body:\(String(buffer: b))"
        case .end: "end"
        case .raw(let b): "raw:\(String(buffer: b))"
        }
    }

    @Test("every stage against every event: the listed pairs move as written, every other pair is refused unchanged")
    func transitionTable() {
        #expect(Self.paths.count == Stage.allCases.count)
        var illegal = 0
        for stage in Stage.allCases {
            for event in Event.allCases {
                let expected = Self.legal[stage]?[event]
                #expect(stage.after(event) == expected, "\(stage) on \(event)")
                var s = state(at: stage)
                let request = s.request
                let accepted = s.apply(event)
                #expect(accepted == (expected != nil), "\(stage) on \(event)")
                if let expected {
                    #expect(s.stage == expected)
                } else {
                    illegal += 1
                    #expect(s.stage == stage, "a refused event changed the stage")
                    #expect(s.request == request, "a refused event changed the request side")
                }
            }
        }
        let listed = Self.legal.values.map(\.count).reduce(0, +)
        #expect(listed == 28)
        #expect(illegal == Stage.allCases.count * Event.allCases.count - listed)
    }

    @Test("a keep-alive exchange: routing, bound, request sent, response, back to idle; a new head resets the request")
    func keepAliveExchange() {
        var s = State()
        #expect(s.isIdle && s.watch == .headOrIdle)
        holds(s.apply(.headFramed))
        #expect(s.request == .receiving && !s.requestComplete)
        #expect(s.bodyUse == .hold)
        holds(!s.requestSent(), "nothing is bound, nothing can be sent")
        holds(s.apply(.upstreamBound))
        #expect(s.bodyUse == .forward && s.watch == .body)
        holds(!s.requestSent(), "the request has not ended yet")
        s.requestReceived()
        holds(s.requestSent() && s.requestWasSent)
        #expect(s.watch == .none, "a complete request leaves the timeouts to the upstream")
        #expect(!s.responseStarted)
        holds(s.apply(.responseHead))
        #expect(s.responseStarted)
        holds(s.apply(.exchangeDone))
        #expect(s.isIdle && s.requestWasSent)
        holds(s.apply(.headFramed))
        #expect(s.request == .receiving, "each request starts unreceived")
    }

    @Test("retries go back to routing from connecting, forwarding and a queued slot; an answer after that ends it")
    func retries() {
        for stage in [Stage.connecting, .forwarding, .queued] {
            var s = state(at: stage)
            holds(s.apply(.tryFailed))
            #expect(s.stage == .routing && !s.responseStarted)
            holds(s.apply(.upstreamAbandoned) && s.apply(.ownAnswer))
            #expect(s.stage == .answered && s.responseStarted)
            holds(!s.apply(.tryFailed), "no retry once the client has an answer")
        }
        var s = state(at: .responding)
        holds(!s.apply(.tryFailed), "no retry once response bytes went out")
        holds(!s.apply(.ownAnswer), "no error answer in the middle of a response")
    }

    @Test("one pipelining decision: parts wait behind a complete request and are handed over in order")
    func pipelining() throws {
        var s = State()
        holds(s.receive(try head()) == .handle)
        holds(s.apply(.headFramed) && s.apply(.upstreamBound))
        holds(s.receive(.body(ByteBuffer(string: "a"))) == .handle, "the request in progress takes its body")
        holds(s.receive(.end) == .handle)
        s.requestReceived()
        holds(s.receive(try head()) == .queue, "a second request waits")
        holds(s.receive(.body(ByteBuffer(string: "b"))) == .queue)
        holds(s.receive(.end) == .queue)
        guard case .wait = s.nextQueued() else { Issue.record("handed over before the first response"); return }
        holds(s.apply(.responseHead) && s.apply(.exchangeDone))
        guard case .handle(let second) = s.nextQueued() else { Issue.record("no second head"); return }
        #expect(kind(second) == "head")
        holds(s.apply(.headFramed))
        guard case .handle(let body) = s.nextQueued() else { Issue.record("no body"); return }
        #expect(kind(body) == "body:b")
        guard case .handle(let end) = s.nextQueued() else { Issue.record("no end"); return }
        #expect(kind(end) == "end")
        s.requestReceived()
        #expect(s.waiting.isEmpty)
        holds(s.receive(try head()) == .queue, "the second request is complete: a third waits again")
    }

    @Test("waiting parts for a request already finished while idle are dropped; a tunnel takes everything")
    func idleDropsAndTunnel() throws {
        var s = state(at: .forwarding)
        s.requestReceived()
        holds(s.receive(.body(ByteBuffer(string: "stray"))) == .queue)
        holds(s.receive(try head()) == .queue)
        holds(s.apply(.responseHead) && s.apply(.exchangeDone))
        guard case .handle(let next) = s.nextQueued() else { Issue.record("the head was not handed over"); return }
        #expect(kind(next) == "head", "the stray body part before it was dropped")

        var t = state(at: .forwarding)
        t.requestReceived()
        holds(t.receive(.raw(ByteBuffer(string: "early"))) == .queue, "raw bytes wait for the 101")
        holds(t.apply(.responseHead) && t.apply(.switchedProtocols))
        guard case .handle(let raw) = t.nextQueued() else { Issue.record("raw bytes not relayed"); return }
        #expect(kind(raw) == "raw:early")
        holds(t.receive(.raw(ByteBuffer(string: "more"))) == .handle)
    }

    @Test("an unframable request: answered now when idle, after the exchanges before it, or fails the request in progress")
    func unframable() throws {
        var idle = State()
        holds(idle.refuseUnframable(status: 400, message: "bad") == .handle)
        #expect(!idle.acceptsInput && idle.isOpen)

        var broken = state(at: .forwarding)
        holds(broken.refuseUnframable(status: 400, message: "bad") == nil, "its own body broke")
        #expect(broken.acceptsInput, "the request answers for itself; that answer closes")

        var behind = state(at: .forwarding)
        behind.requestReceived()
        holds(behind.refuseUnframable(status: 400, message: "bad") == .queue)
        #expect(!behind.acceptsInput)
        guard case .wait = behind.nextQueued() else { Issue.record("refusal jumped the queue"); return }
        holds(behind.apply(.responseHead) && behind.apply(.exchangeDone))
        guard case .reject(let status, let message) = behind.nextQueued() else { Issue.record("no refusal"); return }
        #expect(status == 400 && message == "bad")
    }

    @Test("the connection only closes further: draining keeps serving, refusing stops input, lingering reads to drop, closed drops the queue")
    func connectionMonotonic() throws {
        var s = State()
        s.drain()
        #expect(s.draining && s.acceptsInput, "a draining connection still serves requests already on the wire")
        s.refuse()
        #expect(!s.acceptsInput && s.isOpen)
        #expect(s.watch == .none, "an idle refusing connection does not wait for a head")
        holds(s.receive(try head()) == .handle)
        _ = s.apply(.headFramed)
        s.requestReceived()
        holds(s.receive(try head()) == .queue)
        s.linger()
        #expect(s.connection == .lingering && !s.acceptsInput && s.isOpen)
        #expect(!s.shouldPauseReading(heldBytes: 1 << 30, maxHeldBytes: 1, upstreamWritable: false),
                "a lingering connection reads, to drop what the client still sends")
        s.refuse()
        #expect(s.connection == .lingering, "refusing does not undo lingering")
        s.close()
        #expect(!s.isOpen && s.waiting.isEmpty)
        s.refuse()
        s.linger()
        #expect(s.connection == .closed, "never reopens")
    }

    @Test("reading pauses for a full queue, for held body before a connection, and for an upstream that is full")
    func readPausing() throws {
        var s = state(at: .connecting)
        #expect(!s.shouldPauseReading(heldBytes: 100, maxHeldBytes: 100, upstreamWritable: nil))
        #expect(s.shouldPauseReading(heldBytes: 101, maxHeldBytes: 100, upstreamWritable: nil))
        #expect(state(at: .queued).shouldPauseReading(heldBytes: 101, maxHeldBytes: 100, upstreamWritable: nil))
        var f = state(at: .forwarding)
        #expect(f.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: false))
        #expect(!f.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: true))
        f.requestReceived()
        #expect(!f.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: false),
                "a complete request does not wait for the upstream's writability")
        var t = state(at: .tunnel)
        #expect(t.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: false))
        t.requestReceived()
        #expect(t.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: false), "a tunnel always does")
        for stage in [Stage.idle, .answered] {
            #expect(!state(at: stage).shouldPauseReading(heldBytes: 1 << 30, maxHeldBytes: 1, upstreamWritable: false))
        }
        s.requestReceived()
        for _ in 0..<State.maxWaitingParts { _ = s.receive(.end) }
        #expect(s.shouldPauseReading(heldBytes: 0, maxHeldBytes: 100, upstreamWritable: true))
    }

    @Test("the timer watches the head or idle time between requests and the body while a request holds an upstream")
    func timerWatch() {
        let expected: [Stage: State.Watch] = [
            .idle: .headOrIdle, .routing: .none, .queued: .body, .connecting: .body, .forwarding: .body,
            .responding: .body, .answered: .none, .tunnel: .none,
        ]
        for stage in Stage.allCases {
            var s = state(at: stage)
            #expect(s.watch == expected[stage], "\(stage)")
            s.requestReceived()
            #expect(s.watch == (stage == .idle ? .headOrIdle : .none), "\(stage) with the request complete")
        }
    }

    @Test("a body part is forwarded while bound, held before, and discarded after an answer or outside a request")
    func bodyUse() {
        let expected: [Stage: State.BodyUse] = [
            .idle: .discard, .routing: .hold, .queued: .hold, .connecting: .hold, .forwarding: .forward,
            .responding: .forward, .answered: .discard, .tunnel: .discard,
        ]
        for stage in Stage.allCases {
            #expect(state(at: stage).bodyUse == expected[stage], "\(stage)")
        }
    }
}
