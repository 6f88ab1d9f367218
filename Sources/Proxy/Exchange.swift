import Balancer
import NIOCore

/// The data of the one request a client connection is serving (where it stands, and the pipelined requests
/// behind it, are the connection's `ClientConnectionState`).
/// A struct stored in the handler: starting a request allocates nothing for it.
struct Exchange {
    /// Distinguishes this exchange from earlier ones in callbacks that outlive them (connects).
    var serial = 0
    /// The routed request's service and hashing key: all a try needs of its route (the route itself, a struct of
    /// many references, is not kept, so a try copies one reference instead of the whole route).
    var service: ProxyService? = nil
    var hashKey: HashKey? = nil
    /// Added to the upstream's final response head (see `ProxyRoute.responseHeaders`); nil when none, the
    /// usual case, so a request moves no array.
    var responseHeaders: [(name: String, value: String)]? = nil
    var requestId = RequestId(prefix: 0, counter: 0)
    var clientRequestId: String? = nil
    /// The trace context sent upstream: the client's `traceparent`, or one generated from the request id.
    var trace = TraceParent(traceHigh: 0, traceLow: 0, parentId: 0, flags: 0)
    var upstreamHead: ByteBuffer? = nil
    var isHEAD = false
    var idempotent = false
    var hasBody = false
    var chunkedBody = false
    var clientMinor = 1
    var clientKeepAlive = true
    var upgradeRequested = false

    /// Body received while no upstream connection is bound yet.
    var pending: [ByteBuffer] = []
    var pendingBytes = 0
    var bodyReceived: Int64 = 0
    var bodyLimit: Int64 = .max
    /// Keep the client connection after this response.
    var keepClient = true

    var upstream: UpstreamConnection? = nil
    var address: Address? = nil
    /// The selector's pick for the current attempt, until it is reported (then nil).
    var pick: UpstreamPick? = nil
    var tried: [Address] = []
    /// Addresses passed over because they were at their connection limit: in `tried`, but not their fault.
    var passedOver: [Address] = []
    /// Every address left was at its connection limit: the next pick waits for a connection instead.
    var waitAtLimit = false
    /// The answer the last failed attempt would have given: used when no other address is left to try.
    var lastFailure: (status: Int, message: String)? = nil
    var attemptsLeft = 0
    var sentAt = NIODeadline.uptimeNanoseconds(0)
    /// The pool this request waits on while every address is at its connection limit.
    var waitingFor: UpstreamPool? = nil
    var queueTimeout: Scheduled<Void>? = nil

    /// The access-log line being filled in (nil when the access log is off, or once written).
    var log: AccessLogEntry? = nil
    /// When the request head arrived, and when the current try began (for the access log's latencies).
    var logStarted = NIODeadline.uptimeNanoseconds(0)
    var tryStarted = NIODeadline.uptimeNanoseconds(0)
    /// The whole response went to the client (an answer of our own, or the upstream's to its end).
    var responseComplete = false

    var requestIdText: String { clientRequestId ?? requestId.text }
}
