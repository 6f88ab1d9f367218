import NIOConcurrencyHelpers

/// The meeting point of one c-ares callback and one awaiting task. Whichever comes second (the answer, or
/// the task's cancellation) finds the other and completes; completing twice is a no-op.
///
/// The answer crosses from the resolver thread to the task under the lock: `finish` stores it, and the
/// task takes it with `takeResult()` after it wakes. The continuation carries nothing; it only wakes the
/// task, and is always resumed outside the lock. A continuation resumed before its task has suspended lets
/// the task go on without any synchronisation ThreadSanitizer can see, so handing the bytes over through
/// the continuation itself was reported as a race on them.
final class PendingQuery: Sendable {
    typealias Result = Swift.Result<RawAnswer, DiscoveryError>

    private enum State {
        case created
        case waiting(CheckedContinuation<Void, Never>)
        /// nil: the task was cancelled.
        case finished(Result?)
    }

    private let state = NIOLockedValueBox(State.created)

    /// Attaches the awaiting continuation; resumes it at once if the result is already known.
    func install(_ continuation: CheckedContinuation<Void, Never>) {
        let finished: Bool = state.withLockedValue { state in
            switch state {
            case .created:
                state = .waiting(continuation)
                return false
            case .finished:
                return true
            case .waiting:
                preconditionFailure("continuation installed twice")
            }
        }
        if finished { continuation.resume() }
    }

    /// Completes the query with an answer or an error; nil means the task was cancelled.
    func finish(_ result: Result?) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            switch state {
            case .created:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .finished(result)
                return continuation
            case .finished:
                return nil
            }
        }
        continuation?.resume()
    }

    /// The outcome, read under the lock once the continuation has resumed: nil when the task was cancelled.
    func takeResult() -> Result? {
        state.withLockedValue { state in
            guard case .finished(let result) = state else {
                preconditionFailure("result taken before the query finished")
            }
            return result
        }
    }
}

/// What c-ares handed back for one query: its status and the raw answer bytes (present for negative answers
/// too, so the SOA negative TTL can be read).
struct RawAnswer: Sendable {
    let status: Int32
    let bytes: [UInt8]
    let timeouts: Int32
}
