import NIOCore

/// Where the client's current request head stands; for the header read timeout.
final class HeadProgress {
    /// Between requests or inside a head (not inside a body).
    var awaitingHead = true
    var startedAt: NIODeadline? = nil
    /// The connection is refusing input (an error answer is on its way, then close).
    var rejected = false

    func headReceived() {
        awaitingHead = false
        startedAt = nil
    }

    func messageEnded() {
        awaitingHead = true
    }
}
