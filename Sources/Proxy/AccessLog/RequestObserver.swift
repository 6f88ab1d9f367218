/// Receives what the proxy's finished requests add to the metrics, one event loop's `RequestTally` at a time.
///
/// Each event loop records its requests into a tally of its own and hands it over at most every 100 ms: `observe`
/// is called on an event loop, so it must return at once (add the tally to its totals under a short lock) and never
/// block.
public protocol RequestObserver: Sendable {
    func observe(_ tally: RequestTally)
}
