import Admin
import Foundation
import Gateway
import Logging
import ServiceLifecycle
import Store

/// Heartbeats this node into the cluster's table every `interval`: its applied configuration version and its
/// view of target health (rewritten only when it changed). On graceful shutdown the node leaves the table; a
/// node that crashed stays, and `GET /clustering/status` marks it stale after 3 missed beats. A node that
/// handed over to a successor does not leave: the successor heartbeats under the same id.
struct HeartbeatService: Service {
    let cluster: any ClusterDirectory
    let id: String
    let interval: Duration
    let node: GatewayNode
    let store: any ConfigStore
    let handedOver: @Sendable () -> Bool
    let logger: Logger

    func run() async throws {
        let started = Date()
        let runtime = node.adminRuntime()
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let hostname = ProcessInfo.processInfo.hostName
        try? await cancelWhenGracefulShutdown {
            var written: String?
            var failing = false
            while !Task.isCancelled {
                let digest = ClusterHealthDigest.make(config: store.snapshot.config, balancer: runtime.balancer)
                let beat = ClusterHeartbeat(id: id, hostname: hostname, binaryVersion: SwitchyardVersion.current,
                                            appliedVersion: node.appliedGeneration, startedAt: started,
                                            interval: seconds, health: digest == written ? nil : digest)
                do {
                    try await cluster.heartbeat(beat)
                    written = digest
                    if failing { logger.notice("cluster heartbeat written again", metadata: ["node": "\(id)"]) }
                    failing = false
                } catch {
                    if !failing {
                        logger.warning("cannot write the cluster heartbeat", metadata: [
                            "node": "\(id)", "error": "\((error as? StoreError)?.message ?? "\(error)")",
                        ])
                    }
                    failing = true
                    // The row may be gone (a restored database): write the whole digest next time.
                    written = nil
                }
                try await Task.sleep(for: interval)
            }
        }
        if !handedOver() { await cluster.leave(id: id) }
    }
}
