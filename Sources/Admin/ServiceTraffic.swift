/// One service's requests since the node started, as the dashboard reads them: counts and a cumulative latency
/// histogram, from which the page derives requests/s, error rate, p50 and p99 over its own window.
public struct ServiceTraffic: Sendable, Equatable {
    public var name: String
    public var requests: Int
    /// Answers with a 5xx status.
    public var errors: Int
    /// Upper bounds of the latency buckets, in seconds (the last bucket, +Inf, is `requests`).
    public var bucketBounds: [Double]
    /// Requests at or under each bound: cumulative, as Prometheus histograms count.
    public var bucketCounts: [Int]
    public var latencySumSeconds: Double

    public init(name: String, bucketBounds: [Double]) {
        self.name = name
        self.requests = 0
        self.errors = 0
        self.bucketBounds = bucketBounds
        self.bucketCounts = Array(repeating: 0, count: bucketBounds.count)
        self.latencySumSeconds = 0
    }
}
