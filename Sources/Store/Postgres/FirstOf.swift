import Synchronization

/// Runs two operations and returns as soon as either finishes, cancelling the other without waiting for it.
/// A task group would wait for both, and a query sent on a PostgreSQL connection as it closes may never
/// answer, so waiting could hang the LISTEN loop for good.
enum FirstOf {
    static func race<T: Sendable>(_ first: @escaping @Sendable () async throws -> T,
                                  _ second: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.start(continuation, [first, second])
            }
        } onCancel: {
            // Cancelled from outside (the store closing): return now, whatever the two are doing.
            race.finish(.failure(CancellationError()))
        }
    }

    private final class Race<T: Sendable>: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, tasks: [Task<Void, Never>], cancelled: Bool)>((nil, [], false))

        func start(_ continuation: CheckedContinuation<T, any Error>, _ operations: [@Sendable () async throws -> T]) {
            let cancelled = state.withLock { state -> Bool in
                if state.cancelled { return true }
                state.continuation = continuation
                return false
            }
            if cancelled {
                continuation.resume(throwing: CancellationError())
                return
            }
            let tasks = operations.map { operation in
                Task {
                    do { self.finish(.success(try await operation())) } catch { self.finish(.failure(error)) }
                }
            }
            let finished = state.withLock { state -> Bool in
                state.tasks = tasks
                return state.cancelled
            }
            // One finished before the tasks were recorded: cancel the other now.
            if finished { for task in tasks { task.cancel() } }
        }

        func finish(_ result: Result<T, any Error>) {
            let (continuation, tasks) = state.withLock { state in
                defer { state.continuation = nil; state.cancelled = true }
                return (state.continuation, state.tasks)
            }
            guard let continuation else { return }
            for task in tasks { task.cancel() }
            continuation.resume(with: result)
        }
    }
}
