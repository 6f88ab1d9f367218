import Config
import Foundation
import Hummingbird
import Store

extension AdminAPI {
    func addClusteringRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/clustering/status") { _, _ in
            await clusteringStatus()
        }
    }

    /// The nodes sharing this node's database, each with how far it is behind the newest version and whether
    /// it still heartbeats.
    func clusteringStatus() async -> Response {
        let view: ClusterView
        switch await clusterView() {
        case let .success(found): view = found
        case let .failure(answer): return answer.response
        }
        var stale = 0, behind = 0
        let nodes: [RawValue] = view.members.map { member in
            let lag = max(0, view.version - member.appliedVersion)
            let status: String
            if member.isStale {
                status = "stale"
                stale += 1
            } else if lag > 0 {
                status = "behind"
                behind += 1
            } else {
                status = "in_sync"
            }
            return .object([
                "id": .string(member.id), "hostname": .string(member.hostname),
                "version": .string(member.binaryVersion), "applied_version": .int(member.appliedVersion),
                "lag": .int(lag), "status": .string(status),
                "started_at": .double(member.startedAt.timeIntervalSince1970.rounded()),
                "last_seen": .double(member.lastSeen.timeIntervalSince1970.rounded()),
                "last_seen_seconds_ago": .double((member.secondsSinceSeen * 10).rounded() / 10),
                "heartbeat_seconds": .double(member.interval),
                "this_node": .bool(member.id == runtime.nodeID),
            ])
        }
        return AdminResponse.json(.object([
            "version": .int(view.version), "node_id": .string(runtime.nodeID),
            "summary": .object(["nodes": .int(nodes.count), "stale": .int(stale), "behind": .int(behind)]),
            "data": .array(nodes), "next": .null,
        ]))
    }

    /// `GET /upstreams/{u}/health?scope=cluster`: each address of each target as every node sees it. This node
    /// answers with its live view; the others with the view of their last heartbeat.
    func clusterHealth(_ upstream: Upstream, config: DeclarativeConfig) async -> Response {
        let view: ClusterView
        switch await clusterView() {
        case let .success(found): view = found
        case let .failure(answer): return answer.response
        }
        let live = ClusterHealthDigest.content(config: config, balancer: runtime.balancer)
        var digests: [(id: String, content: ClusterHealthDigest.Content)] = view.members.map { member in
            (member.id, member.id == runtime.nodeID ? live : ClusterHealthDigest.parse(member.health))
        }
        // Not heartbeated yet: this node's view still belongs in the answer.
        if !digests.contains(where: { $0.id == runtime.nodeID }) { digests.append((runtime.nodeID, live)) }
        var disagreements = 0
        let targets: [RawValue] = config.targets(of: upstream.id).map { target in
            var addresses = Set<String>()
            for digest in digests {
                if let found = digest.content[upstream.name]?[target.target] { addresses.formUnion(found.keys) }
            }
            let entries: [RawValue] = addresses.sorted().map { address in
                var byNode: [String: RawValue] = [:]
                for digest in digests {
                    // ABSENT: that node has no such address (its DNS answered otherwise, or it is behind).
                    byNode[digest.id] = .string(digest.content[upstream.name]?[target.target]?[address] ?? "ABSENT")
                }
                let agreed = Set(byNode.values.compactMap(\.string)).count == 1
                if !agreed { disagreements += 1 }
                return .object(["address": .string(address), "nodes": .object(byNode), "agreed": .bool(agreed)])
            }
            return .object(["target": .string(target.target), "id": .string(target.id.uuidString.lowercased()),
                            "addresses": .array(entries)])
        }
        let nodes: [RawValue] = digests.map { digest in
            let member = view.members.first { $0.id == digest.id }
            return .object([
                "id": .string(digest.id), "this_node": .bool(digest.id == runtime.nodeID),
                "stale": .bool(member?.isStale ?? false),
                "reported_seconds_ago": member.map { .double(($0.secondsSinceSeen * 10).rounded() / 10) } ?? .double(0),
            ])
        }
        return AdminResponse.json(.object([
            "data": .array(targets), "nodes": .array(nodes), "disagreements": .int(disagreements),
            "node_id": .string(runtime.nodeID), "next": .null,
        ]))
    }

    /// The cluster's view, or the answer saying why there is none.
    private func clusterView() async -> Result<ClusterView, ResponseAnswer> {
        guard let cluster = store.cluster else {
            return .failure(ResponseAnswer(AdminResponse.json(.object([
                "name": .string("not clustered"),
                "message": .string("this node keeps its configuration in \(store.location), not in a cluster's PostgreSQL: start it with --database postgres://… (docs/clustering.md)"),
            ]), status: .notFound)))
        }
        do {
            return .success(try await cluster.clusterView())
        } catch {
            return .failure(ResponseAnswer(AdminResponse.json(.object([
                "name": .string("database unavailable"),
                "message": .string("the cluster's view lives in the database, which cannot be read: \(error.message)"),
            ]), status: .serviceUnavailable)))
        }
    }
}

/// A response carried as a failure.
struct ResponseAnswer: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
