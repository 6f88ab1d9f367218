import Synchronization

/// An async mutual exclusion: one holder at a time, the others wait their turn in order, without blocking a
/// thread. The store's reads and writes of the database go through it, so a catch-up never interleaves with a
/// write at an `await`.
///
/// A holder stuck for longer than `patience` (a query on a dying connection that never answers) is passed
/// over: the next waiter takes the lock, and the stuck holder's late release is ignored. What it then
/// publishes is guarded by version, so it cannot undo newer work.
final class SerialLock: Sendable {
    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Int, Never>
    }

    private struct State {
        var holder: Int?
        var acquiredAt = ContinuousClock.now
        var waiters: [Waiter] = []
        var next = 0
    }

    private let state = Mutex(State())
    private let patience: Duration

    init(patience: Duration = .seconds(6)) {
        self.patience = patience
    }

    func run<T>(_ body: () async throws -> T) async throws -> T {
        let ticket = await acquire()
        defer { release(ticket) }
        return try await body()
    }

    private func acquire() async -> Int {
        let ticket = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        let watchdog = Task { [patience] in
            while !Task.isCancelled {
                try? await Task.sleep(for: patience)
                passOverStuckHolder()
            }
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.holder != nil {
                    state.waiters.append(Waiter(id: ticket, continuation: continuation))
                    return false
                }
                state.holder = ticket
                state.acquiredAt = .now
                return true
            }
            if granted { continuation.resume(returning: ticket) }
        }
    }

    private func release(_ ticket: Int) {
        let next = state.withLock { state -> Waiter? in
            guard state.holder == ticket else { return nil }
            return Self.handOver(&state)
        }
        next?.continuation.resume(returning: next?.id ?? 0)
    }

    private func passOverStuckHolder() {
        let next = state.withLock { state -> Waiter? in
            guard state.holder != nil, ContinuousClock.now - state.acquiredAt >= patience else { return nil }
            return Self.handOver(&state)
        }
        next?.continuation.resume(returning: next?.id ?? 0)
    }

    private static func handOver(_ state: inout State) -> Waiter? {
        guard !state.waiters.isEmpty else {
            state.holder = nil
            return nil
        }
        let next = state.waiters.removeFirst()
        state.holder = next.id
        state.acquiredAt = .now
        return next
    }
}
