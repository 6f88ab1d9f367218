import Config
import Foundation
import PostgresNIO
@testable import Store
import Synchronization
import TestSupport
import Testing

/// The cluster side of the PostgreSQL store, on a real PostgreSQL 15: following other nodes' writes, losing
/// the LISTEN connection, the database going away and coming back, the cache file, migrations.
@Suite struct PostgresStoreTests {
    /// Snapshots a following store handed on, in order.
    final class Followed: Sendable {
        private let items = Mutex<[StoreSnapshot]>([])
        func append(_ snapshot: StoreSnapshot) { items.withLock { $0.append(snapshot) } }
        var generations: [Int] { items.withLock { $0.map(\.generation) } }
        var last: StoreSnapshot? { items.withLock { $0.last } }
    }

    @Test func aFollowerCatchesUpWithAWriteOnAnotherStore() async throws {
        let db = try await StoreDatabase(.postgres)
        let writer = try await db.open()
        let follower = try #require(try await db.open() as? PostgresStore)
        defer { Task { await closeStore(writer); await follower.close() } }
        let followed = Followed()
        // A poll far longer than the test: only NOTIFY can bring the change in time.
        follower.follow(every: .seconds(600)) { followed.append($0) }
        try await Task.sleep(for: .milliseconds(200))
        try await writer.importDeclarative(Fixtures.kong)
        let caughtUp = await waitFor(.seconds(5)) { follower.snapshot.generation == 1 }
        #expect(caughtUp != nil)
        #expect(follower.snapshot.config == writer.snapshot.config)
        // Handed on after it is in force: wait for it as well.
        #expect(await waitFor(.seconds(5)) { followed.generations == [1] } != nil, "\(followed.generations)")
        // A change to one entity reads one row and leaves the rest as they were.
        _ = try await writer.update { config in
            var config = config
            config.targets[1].weight = 5
            return config
        }
        #expect(await waitFor(.seconds(5)) { follower.snapshot.generation == 2 } != nil)
        #expect(follower.snapshot.config.targets.map(\.weight) == [100, 5])
        let logged = try #require(db.server).psql("SELECT count(*) FROM switchyard_change WHERE version = 2", database: db.name)
        #expect(logged == "1")
    }

    @Test func aKilledListenConnectionIsReopenedAndMissedChangesRead() async throws {
        let db = try await StoreDatabase(.postgres)
        let server = try #require(db.server)
        let writer = try await db.open()
        let follower = try #require(try await db.open() as? PostgresStore)
        defer { Task { await closeStore(writer); await follower.close() } }
        follower.follow(every: .seconds(600)) { _ in }
        try await Task.sleep(for: .milliseconds(200))
        // Every connection to this database goes, the follower's LISTEN connection among them.
        let killed = try server.psql("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(db.name)' AND pid <> pg_backend_pid()
            """, database: "postgres")
        #expect((Int(killed) ?? 0) >= 2)
        try await writer.importDeclarative(Fixtures.kong)
        // Usually at once; at worst after the LISTEN watchdog (1 s ping, 2 s answer) and the store lock's
        // patience with a holder stuck on the killed connection (6 s).
        #expect(await waitFor(.seconds(15)) { follower.snapshot.generation == 1 } != nil, "\(follower.health)")
        #expect(follower.snapshot.config == writer.snapshot.config)
    }

    @Test func theDatabaseGoingAwayAndComingBack() async throws {
        let server = try PostgresServer.start()
        defer { server.stop() }
        let db = try await StoreDatabase(.postgres, server: server)
        let writer = try #require(try await db.open() as? PostgresStore)
        let follower = try #require(try await db.open() as? PostgresStore)
        defer { Task { await writer.close(); await follower.close() } }
        follower.follow(every: .seconds(600)) { _ in }
        try await writer.importDeclarative(Fixtures.kong)
        let token = try await writer.createToken(name: "ops", role: .admin)
        #expect(await waitFor(.seconds(5)) { follower.snapshot.generation == 2 } != nil)
        let before = writer.snapshot

        server.stopServer()
        // Writes are refused as unavailable; reads and tokens go on from memory.
        await #expect {
            try await writer.update { config in config }
        } throws: { error in
            (error as? StoreError)?.code == .unavailable
        }
        #expect(writer.snapshot == before)
        #expect(!writer.health.reachable)
        #expect(await writer.role(ofToken: token) == .admin)
        // The cluster's view lives in the database: it cannot be read now.
        do {
            _ = try await writer.clusterView()
            Issue.record("the cluster view was read from a stopped server")
        } catch {
            #expect(error.code == .unavailable)
        }
        // A node started now starts from its cache, says so, and keeps its tokens; without a cache it refuses.
        let restarted = try #require(try await db.open() as? PostgresStore)
        #expect(restarted.health.fromCache)
        #expect(restarted.snapshot == before)
        #expect(await restarted.role(ofToken: token) == .admin)
        await #expect {
            _ = try await db.open(cache: false)
        } throws: { error in
            (error as? StoreError)?.code == .unavailable
        }

        try server.startAgain()
        let after = try await writer.update { config in
            var config = config
            config.targets[0].weight = 9
            return config
        }
        #expect(after.generation == 3)
        #expect(writer.health.reachable)
        _ = try await writer.clusterView()
        // The follower's LISTEN connection comes back by itself and reads what it missed.
        #expect(await waitFor(.seconds(10)) { follower.snapshot.generation == 3 } != nil)
        // The node started from the cache catches up once it can.
        restarted.follow(every: .milliseconds(200)) { _ in }
        #expect(await waitFor(.seconds(10)) { restarted.snapshot.generation == 3 && !restarted.health.fromCache } != nil)
        await restarted.close()
    }

    @Test func twoNodesMigratingAtOnceApplyEachMigrationOnce() async throws {
        let db = try await StoreDatabase(.postgres, migrate: false)
        // Before migrating, a node refuses to start and says what to run.
        await #expect {
            _ = try await db.open(cache: false)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .schemaOutdated && error.message.contains("switchyard migrations up")
        }
        async let first = PostgresStore.migrate(db.location, logger: StoreDatabase.logger)
        async let second = PostgresStore.migrate(db.location, logger: StoreDatabase.logger)
        let applied: [[String]] = try await [first, second]
        #expect(applied.map(\.count).sorted() == [0, PostgresSchema.identifiers.count])
        let status = try await PostgresStore.migrationStatus(db.location)
        #expect(status.status.isUpToDate && status.unknown.isEmpty)
        // A schema migrated by a newer binary is refused too.
        _ = try #require(db.server).psql("INSERT INTO switchyard_migration (id) VALUES ('999_future')", database: db.name)
        await #expect {
            _ = try await db.open(cache: false)
        } throws: { error in
            (error as? StoreError)?.message.contains("999_future") == true
        }
    }

    @Test func stablePositionsRewriteOnlyWhatMoved() {
        func row(_ id: String, _ position: Int) -> EntityRow {
            EntityRow(id: id, kind: .targets, position: position, name: nil, json: "{}")
        }
        let stored = Dictionary(uniqueKeysWithValues: [row("a", 0), row("b", 1), row("c", 2)].map { ($0.id, $0) })
        // Removing the first keeps the others where they were; appending goes after the last.
        #expect(StablePositions.assign([row("b", 0), row("c", 1), row("d", 2)], stored: stored).map(\.position) == [1, 2, 3])
        // Inserting in the middle moves only what must move, and order is kept.
        #expect(StablePositions.assign([row("a", 0), row("n", 1), row("b", 2), row("c", 3)], stored: stored).map(\.position)
            == [0, 1, 2, 3])
        #expect(StablePositions.assign([row("c", 0), row("a", 1), row("b", 2)], stored: stored).map(\.position) == [2, 3, 4])
    }
}
