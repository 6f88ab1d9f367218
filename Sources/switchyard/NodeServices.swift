import Admin
import Foundation
import Gateway
import NIOCore
import ServiceLifecycle
import UnixSignals

// The running node as swift-service-lifecycle services. `StartCommand` runs them in one `ServiceGroup` in this
// order: the gateway, the Admin API, the reloader. SIGTERM or SIGINT shuts the group down in reverse order, each
// service finishing before the previous one is told: SIGHUP stops being handled, the Admin API stops, then the
// node stops accepting, lets in-flight requests finish, and stops NOTIFY, probes, the watcher and the resolver.

/// The proxy and discovery, started before the group runs; drained on graceful shutdown.
struct GatewayService: Service {
    let node: GatewayNode
    /// How long in-flight requests may take to finish (`drain_timeout`).
    let drainTimeout: TimeAmount

    func run() async throws {
        try? await gracefulShutdown()
        await node.shutdown(grace: drainTimeout)
    }
}

/// The Admin API listeners, started before the group runs; stopped on graceful shutdown, before the node.
struct AdminService: Service {
    let servers: [AdminServer]

    func run() async throws {
        try? await gracefulShutdown()
        emit("switchyard: stopping")
        for server in servers { await server.stop() }
    }
}

/// Runs `reload` on every SIGHUP until graceful shutdown.
struct ReloadService: Service {
    /// Trapped before the node says it listens, so a SIGHUP sent right after that is not lost.
    let signals: UnixSignalsSequence
    let reload: @Sendable () async -> Void

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }
}

/// Starts a successor on every SIGUSR2: the same binary path and arguments plus `--takeover`, so replacing the
/// file on disk and sending SIGUSR2 (`systemctl kill --signal=SIGUSR2 --kill-whom=main switchyard`) upgrades the
/// node without a refused connection. The successor takes over through the control socket; this node then
/// drains and exits. If the successor fails, this node goes on serving.
struct UpgradeService: Service {
    /// Trapped before the node says it listens, as for `ReloadService`.
    let signals: UnixSignalsSequence
    let spawn: @Sendable () -> Void

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            spawn()
        }
    }
}

/// Writes the node's state file every 10 s, and once more on graceful shutdown unless the node was handed over
/// (its successor writes the file from then on).
struct StateFileService: Service {
    let file: StateFile
    let node: GatewayNode
    let handedOver: @Sendable () -> Bool

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                write()
                try await Task.sleep(for: .seconds(10))
            }
        }
        if !handedOver() { write() }
    }

    private func write() {
        do {
            try file.write(node.carried())
        } catch {
            emit("switchyard: cannot write the state file \(file.path): \(error)")
        }
    }
}

/// Reopens the access log on every SIGUSR1, after logrotate moved the file.
struct ReopenService: Service {
    let signals: UnixSignalsSequence
    let reopen: @Sendable () -> Void

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            reopen()
        }
    }
}
