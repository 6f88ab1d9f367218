import Foundation
import Store
import Testing
import TestSupport

/// Heartbeats and the cluster's view of itself, on a real PostgreSQL 15.
@Suite struct ClusterDirectoryTests {
    @Test func heartbeatsListTheNodesAndAQuietNodeGoesStale() async throws {
        let db = try await StoreDatabase(.postgres)
        let a = try #require(try await db.open() as? PostgresStore)
        let b = try #require(try await db.open() as? PostgresStore)
        defer { Task { await a.close(); await b.close() } }
        try await a.importDeclarative(Fixtures.kong)
        let started = Date(timeIntervalSince1970: 1_800_000_000)
        func beat(_ id: String, applied: Int, interval: Double, health: String?) -> ClusterHeartbeat {
            ClusterHeartbeat(id: id, hostname: "host-" + id, binaryVersion: "9.9.9", appliedVersion: applied,
                             startedAt: started, interval: interval, health: health)
        }
        try await a.heartbeat(beat("a:8000", applied: 1, interval: 60, health: #"{"u":{}}"#))
        // B beats every 0.2 s; it is stale once 0.6 s pass without one.
        try await b.heartbeat(beat("b:8000", applied: 0, interval: 0.2, health: #"{"v":{}}"#))
        var view = try await a.clusterView()
        #expect(view.version == 1)
        #expect(view.members.map(\.id) == ["a:8000", "b:8000"])
        #expect(view.members.map(\.appliedVersion) == [1, 0])
        #expect(view.members.allSatisfy { !$0.isStale })
        #expect(view.members.first?.startedAt == started)
        #expect(view.members.first?.hostname == "host-a:8000")

        // A beat without health keeps the stored one.
        try await b.heartbeat(beat("b:8000", applied: 1, interval: 0.2, health: nil))
        view = try await a.clusterView()
        #expect(view.members.last?.health == #"{"v":{}}"#)
        #expect(view.members.last?.appliedVersion == 1)

        try await Task.sleep(for: .milliseconds(900))
        view = try await a.clusterView()
        #expect(view.members.first { $0.id == "b:8000" }?.isStale == true)
        #expect(view.members.first { $0.id == "a:8000" }?.isStale == false)

        // A node that leaves is gone from the view.
        await b.leave(id: "b:8000")
        #expect(try await a.clusterView().members.map(\.id) == ["a:8000"])
    }
}
