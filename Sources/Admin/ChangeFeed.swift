import Config
import Foundation
import Store

/// Hands committed configurations to the node in generation order. Two writes that commit close together
/// could otherwise reach the node out of order and leave it on the older one.
///
/// `@unchecked Sendable` is sound: `lastGeneration` is only read and written while holding `lock`, and
/// `deliver` is `Sendable`.
final class ChangeFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var lastGeneration = Int.min
    private let deliver: @Sendable (DeclarativeConfig) -> Void

    init(_ deliver: @escaping @Sendable (DeclarativeConfig) -> Void) {
        self.deliver = deliver
    }

    /// Applies `snapshot` unless a newer one was already applied.
    func publish(_ snapshot: StoreSnapshot) {
        lock.lock()
        defer { lock.unlock() }
        guard snapshot.generation > lastGeneration else { return }
        lastGeneration = snapshot.generation
        deliver(snapshot.config)
    }
}
