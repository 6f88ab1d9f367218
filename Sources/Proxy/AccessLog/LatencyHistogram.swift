/// Latency counts by bucket (not cumulative: each request counts in the first bucket that holds it, the last one
/// being +Inf), their sum and count.
public struct LatencyHistogram: Sendable, Equatable {
    public var buckets: [Int] = Array(repeating: 0, count: RequestTally.bucketSeconds.count + 1)
    public var sum: Double = 0
    public var count = 0

    public init() {}

    public mutating func record(_ seconds: Double) {
        var index = 0
        RequestTally.bucketSeconds.withUnsafeBufferPointer { bounds in
            while index < bounds.count && seconds > bounds[index] { index += 1 }
        }
        buckets[index] += 1
        sum += seconds
        count += 1
    }

    public mutating func add(_ other: LatencyHistogram) {
        for index in buckets.indices { buckets[index] += other.buckets[index] }
        sum += other.sum
        count += other.count
    }

    /// Counts at or under each bound, as Prometheus histograms count (without +Inf, which is `count`).
    public var cumulative: [Int] {
        var running = 0
        return buckets.dropLast().map { bucket in
            running += bucket
            return running
        }
    }
}
