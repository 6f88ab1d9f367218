/// Receives the finished requests of the proxy in batches, to turn them into metrics off the request path.
///
/// Each event loop collects its requests and hands them over at most every 100 ms: `observe` is called on an event
/// loop, so it must return at once (queue the batch for a thread of its own) and never block.
public protocol RequestObserver: Sendable {
    func observe(_ requests: [AccessLogEntry])
}
