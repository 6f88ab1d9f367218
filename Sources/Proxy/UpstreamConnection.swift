import Balancer
import NIOCore
import NIOSSL

/// Why an upstream exchange broke before its response completed.
enum UpstreamFailure {
    case closed
    case invalidResponse(ResponseFramingError)
    case readTimeout
    case writeTimeout
    case error(any Error)

    var isTimeout: Bool {
        switch self {
        case .readTimeout, .writeTimeout: return true
        default: return false
        }
    }

    var description: String {
        switch self {
        case .closed: return "upstream closed the connection"
        case .invalidResponse(let error): return error.description
        case .readTimeout: return "upstream read timed out"
        case .writeTimeout: return "upstream write timed out"
        case .error(let error as NIOSSLError): return "upstream TLS handshake failed: \(error)"
        case .error(let error as BoringSSLError): return "upstream TLS handshake failed: \(error)"
        case .error(let error as NIOSSLExtraError): return "upstream TLS handshake failed: \(error)"
        case .error(let error): return "upstream connection error: \(error)"
        }
    }
}

/// One keep-alive connection to an upstream address: the handler at the end of its pipeline.
///
/// Frames responses with `ResponseFramer` and hands raw slices to the client connection that leased it.
/// Lives on one event loop, as does its lessee, so every call is synchronous.
///
/// `@exclusivity(unchecked)` on the stored properties, for the reason `ProxyConnectionHandler` gives: one thread
/// touches them, and the only access that spans a call is `framer.next`/`endOfInput` (parsing, which calls out
/// of nothing); the lessee is called only after it returned.
final class UpstreamConnection: ChannelDuplexHandler, DirectReadGate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let address: Address
    weak var pool: UpstreamPool? {
        didSet { counted = pool != nil }
    }
    /// The pool counts this connection in its `live` total until the handler is removed.
    @exclusivity(unchecked) private var counted = false
    /// Requests sent on this connection (for `maxRequestsPerConnection`).
    @exclusivity(unchecked) private(set) var requestsServed = 0
    /// The client connection currently using this one; nil while pooled.
    @exclusivity(unchecked) var owner: ProxyConnectionHandler?
    /// The upstream socket when this handler is its pipeline's only one (no TLS) on the proxy's own loops: writes
    /// and flushes go to it directly instead of through the pipeline.
    @exclusivity(unchecked) var directOut: DirectSocketChannel? = nil
    @exclusivity(unchecked) var inPool = false
    @exclusivity(unchecked) var idleSince = NIODeadline.uptimeNanoseconds(0)
    /// The last response allowed reuse, and no stray bytes followed it.
    @exclusivity(unchecked) private(set) var reusable = true
    @exclusivity(unchecked) private(set) var isOpen = true
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    @exclusivity(unchecked) private var framer = ResponseFramer()

    // Back-pressure towards the upstream: reads are withheld while the client cannot take more.
    @exclusivity(unchecked) private var readPaused = false
    @exclusivity(unchecked) private var readPending = false

    // Timeouts: one lazily re-armed timer, so a busy connection schedules nothing per request.
    @exclusivity(unchecked) private var readTimeout = TimeAmount.seconds(60)
    @exclusivity(unchecked) private var writeTimeout = TimeAmount.seconds(60)
    @exclusivity(unchecked) private var waitingForResponse = false
    @exclusivity(unchecked) private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    @exclusivity(unchecked) private var unwritableSince: NIODeadline? = nil
    @exclusivity(unchecked) private var timer: Scheduled<Void>? = nil

    init(address: Address) {
        self.address = address
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// The event loop's time: real time on a real loop, the time a test advances on `EmbeddedEventLoop`.
    private var now: NIODeadline { context?.eventLoop.now ?? .now() }

    // MARK: Used by the client side

    /// Arms the framer and timeouts for one request.
    func begin(headRequest: Bool, dechunk: Bool, readTimeout: TimeAmount, writeTimeout: TimeAmount) {
        requestsServed += 1
        framer.expectResponse(headRequest: headRequest, dechunk: dechunk)
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        waitingForResponse = false
        resumeReading()
        if timer == nil, let context {
            armTimer(context, in: min(readTimeout, writeTimeout))
        }
    }

    /// The whole request was written: the read timeout starts counting.
    func requestSent() {
        waitingForResponse = true
        lastActivity = now
    }

    func write(_ buffer: ByteBuffer) {
        if let directOut {
            directOut.enqueue(buffer, promise: nil)
        } else {
            context?.write(NIOAny(buffer), promise: nil)
        }
    }

    func flush() {
        if let directOut { directOut.flush0() } else { context?.flush() }
    }

    func pauseReading() {
        readPaused = true
    }

    func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        owner = nil
        context?.close(promise: nil)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        directOut = nil
        if counted {
            counted = false
            pool?.connectionEnded()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let owner else {
            // Bytes on an idle connection: the upstream is out of step, never reuse it.
            reusable = false
            close()
            return
        }
        if waitingForResponse { lastActivity = context.eventLoop.now }
        do {
            while true {
                // Switched on as an optional and consumed: the event's payload moves to the client's handler, and
                // no optional is left to destroy (that goes through the runtime's generic value witness, about
                // 350 instructions per event).
                let step = try framer.next(&buffer)
                switch consume step {
                case .none:
                    return
                case .some(.head(let head)):
                    if head.framing == .tunnel { waitingForResponse = false }
                    if !head.isInformational && !head.reusable { reusable = false }
                    owner.upstreamHead(head)
                case .some(.body(let body)):
                    owner.upstreamBody(body)
                case .some(.end):
                    waitingForResponse = false
                    if buffer.readableBytes > 0 { reusable = false }
                    owner.upstreamEnd(self)
                    return
                }
                if self.owner !== owner { return }
            }
        } catch {
            reusable = false
            owner.upstreamFailed(self, .invalidResponse(error))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        reusable = false
        timer?.cancel()
        timer = nil
        pool?.remove(self)
        guard let owner else { return }
        do {
            if let event = try framer.endOfInput() {
                if case .end = event {
                    owner.upstreamEnd(self)
                    return
                }
            }
            owner.upstreamFailed(self, .closed)
        } catch {
            owner.upstreamFailed(self, .closed)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reusable = false
        if let owner {
            owner.upstreamFailed(self, .error(error))
        }
        close()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
            owner?.upstreamBecameWritable()
        } else {
            unwritableSince = context.eventLoop.now
        }
    }

    func read(context: ChannelHandlerContext) {
        if admitRead() { context.read() }
    }

    /// Whether the read the channel is about to issue goes ahead; while paused it is remembered for
    /// `resumeReading`. A `DirectSocketChannel` calls this without the pipeline.
    func admitRead() -> Bool {
        if readPaused {
            readPending = true
            return false
        }
        return true
    }

    // MARK: Timeouts

    private func armTimer(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            self.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard isOpen, let owner, let context else { return }
        let now = context.eventLoop.now
        if let since = unwritableSince, now - since >= writeTimeout {
            reusable = false
            owner.upstreamFailed(self, .writeTimeout)
            close()
            return
        }
        if waitingForResponse && now - lastActivity >= readTimeout {
            reusable = false
            owner.upstreamFailed(self, .readTimeout)
            close()
            return
        }
        var next = min(readTimeout, writeTimeout)
        if waitingForResponse { next = min(next, readTimeout - (now - lastActivity)) }
        if let since = unwritableSince { next = min(next, writeTimeout - (now - since)) }
        armTimer(context, in: max(next, .milliseconds(1)))
    }
}
