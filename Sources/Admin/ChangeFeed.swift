import Config
import Foundation
import Store
import Synchronization

/// Hands committed configurations to the node in generation order. Two writes that commit close together
/// could otherwise reach the node out of order and leave it on the older one.
/// Delivery happens inside the lock, so two publishes cannot pass each other.
final class ChangeFeed: Sendable {
    private let lastGeneration = Mutex(Int.min)
    private let deliver: @Sendable (DeclarativeConfig) -> Void

    init(_ deliver: @escaping @Sendable (DeclarativeConfig) -> Void) {
        self.deliver = deliver
    }

    /// Applies `snapshot` unless a newer one was already applied.
    func publish(_ snapshot: StoreSnapshot) {
        lastGeneration.withLock { last in
            guard snapshot.generation > last else { return }
            last = snapshot.generation
            deliver(snapshot.config)
        }
    }
}
