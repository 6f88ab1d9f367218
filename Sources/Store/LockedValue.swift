import Foundation

/// A value guarded by a lock, held only to copy or replace the value.
///
/// `@unchecked Sendable` is sound because `value` is read and written only inside `lock`, and `Value` is
/// itself `Sendable`, so copies handed out are safe to use on any thread.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func get() -> Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set(_ newValue: Value) {
        lock.lock()
        defer { lock.unlock() }
        value = newValue
    }
}
