import NIOConcurrencyHelpers

/// The meeting point of one c-ares callback and one awaiting task. Whichever comes second (the answer, or
/// the task's cancellation) finds the other and completes; completing twice is a no-op, and the
/// continuation is always resumed outside the lock.
final class PendingQuery: Sendable {
    typealias Result = Swift.Result<RawAnswer, DiscoveryError>

    private enum State {
        case created
        case waiting(CheckedContinuation<RawAnswer, any Error>)
        case finished(Result?)
    }

    private let state = NIOLockedValueBox(State.created)

    /// Attaches the awaiting continuation; resumes it at once if the result is already known.
    func install(_ continuation: CheckedContinuation<RawAnswer, any Error>) {
        let early: Result?? = state.withLockedValue { state in
            switch state {
            case .created:
                state = .waiting(continuation)
                return nil
            case .finished(let result):
                return .some(result)
            case .waiting:
                preconditionFailure("continuation installed twice")
            }
        }
        if let early { Self.resume(continuation, with: early) }
    }

    /// Completes the query with an answer or an error; nil means the task was cancelled.
    func finish(_ result: Result?) {
        let continuation: CheckedContinuation<RawAnswer, any Error>? = state.withLockedValue { state in
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
        if let continuation { Self.resume(continuation, with: result) }
    }

    private static func resume(_ continuation: CheckedContinuation<RawAnswer, any Error>, with result: Result?) {
        switch result {
        case .success(let answer): continuation.resume(returning: answer)
        case .failure(let error): continuation.resume(throwing: error)
        case nil: continuation.resume(throwing: CancellationError())
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
