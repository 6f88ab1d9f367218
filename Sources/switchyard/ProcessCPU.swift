import Foundation

/// CPU time used by this process, user plus system.
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// Delivers signals as an async sequence.
enum SignalWaiter {
    /// The given signals, as they arrive; their default action is disabled while the stream lives.
    static func signals(_ numbers: [Int32]) -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for number in numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        let keep = SignalSources(sources)
        continuation.onTermination = { _ in keep.cancel() }
        return stream
    }

    static func waitForInterrupt() async {
        for await _ in signals([SIGINT, SIGTERM]) { break }
    }
}

/// Keeps dispatch signal sources alive for as long as their stream.
///
/// `@unchecked Sendable`: the array is a `let` never mutated after init, and a dispatch source may be
/// cancelled from any thread (libdispatch serialises cancellation internally).
final class SignalSources: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    func cancel() { sources.forEach { $0.cancel() } }
}

/// Writes a line to standard output at once (no buffering), so piped output follows events as they happen.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
