import Foundation

/// Runs blocking socket work on a thread of its own, so it never occupies the task pool that the
/// gateway's async work (start, stop, probes) needs while the work is blocked.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
