import Foundation
import Store
import Testing

@Suite struct MigrationTests {
    @Test func freshDatabaseHasEveryMigrationPending() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let status = try SQLiteStore.migrationStatus(path: db.path)
        #expect(status.applied.isEmpty)
        #expect(status.pending.count >= 2)
        #expect(!status.isUpToDate)
    }

    @Test func upAppliesPendingOnceAndStatusIsThenClean() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let pending = try SQLiteStore.migrationStatus(path: db.path).pending
        let applied = try SQLiteStore.migrate(path: db.path)
        #expect(applied == pending)
        let after = try SQLiteStore.migrationStatus(path: db.path)
        #expect(after.applied == pending)
        #expect(after.isUpToDate)
        #expect(try SQLiteStore.migrate(path: db.path).isEmpty)
    }

    @Test func openingWithoutMigratingRefusesAnOutdatedSchema() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        do {
            _ = try SQLiteStore(path: db.path, migrate: false)
            Issue.record("an unmigrated database opened")
        } catch {
            #expect(error.code == .schemaOutdated)
            #expect(error.message.contains("migrations up"))
        }
        try SQLiteStore.migrate(path: db.path)
        let store = try SQLiteStore(path: db.path, migrate: false)
        #expect(store.snapshot.generation == 0)
        #expect(store.isReachable)
    }

    @Test func unopenablePathIsUnavailable() {
        #expect(throws: StoreError.self) {
            _ = try SQLiteStore(path: "/nonexistent-dir-\(UUID().uuidString)/x.db")
        }
    }
}
