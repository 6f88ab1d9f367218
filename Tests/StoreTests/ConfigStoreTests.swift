import Config
import Foundation
import Store
import Testing

/// What every store must do, run on SQLite and on PostgreSQL alike.
@Suite struct ConfigStoreTests {
    @Test(arguments: StoreKind.allCases) func importSurvivesReopenAsAnEqualConfiguration(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let expected = try DeclarativeConfig.parse(Fixtures.kong).config
        let store = try await db.open()
        let (snapshot, _) = try await store.importDeclarative(Fixtures.kong)
        #expect(snapshot.generation == 1)
        #expect(snapshot.config == expected)
        await closeStore(store)
        let reopened = try await db.open()
        defer { Task { await closeStore(reopened) } }
        #expect(reopened.snapshot.config == expected)
        #expect(reopened.snapshot.generation == 1)
        #expect(reopened.snapshot.config.services.map(\.name) == ["orders", "static"])
        #expect(reopened.snapshot.config.targets.map(\.target) == ["127.0.0.1:9001", "127.0.0.1:9002"])
        #expect(reopened.snapshot.config.keyAuthCredentials.map(\.key) == ["alice-key"])
        #expect(reopened.snapshot.config.plugins.count == 1)
    }

    @Test(arguments: StoreKind.allCases) func invalidImportChangesNothingAndListsEveryError(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        try await store.importDeclarative(Fixtures.kong)
        let before = store.snapshot
        do {
            try await store.importDeclarative(Fixtures.invalid)
            Issue.record("an invalid file was imported")
        } catch let error as ConfigError {
            let paths = Set(error.errors.map(\.path))
            #expect(paths.contains("services[0].port"))
            #expect(paths.contains("services[1].name"))
            #expect(paths.contains("upstreams[0].slots"))
        }
        #expect(store.snapshot == before)
        let reopened = try await db.open()
        #expect(reopened.snapshot == before)
        await closeStore(reopened)
    }

    @Test(arguments: StoreKind.allCases) func failedChangeWritesNothing(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        try await store.importDeclarative(Fixtures.kong)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.update { (_: DeclarativeConfig) throws(Refused) -> DeclarativeConfig in throw Refused() }
        }
        #expect(store.snapshot.generation == 1)
        // The store still writes after a refused change (its connection left no transaction open).
        let next = try await store.update { config in config }
        #expect(next.generation == 2)
        let reopened = try await db.open()
        #expect(reopened.snapshot.generation == 2)
        await closeStore(reopened)
    }

    @Test(arguments: StoreKind.allCases) func removalsAndChangesReachTheDatabase(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        try await store.importDeclarative(Fixtures.kong)
        let snapshot = try await store.update { config in
            var config = config
            config.services.removeAll { $0.name == "static" }
            config.targets[1].weight = 7
            return config
        }
        #expect(snapshot.generation == 2)
        let reopened = try await db.open()
        #expect(reopened.snapshot.config.services.map(\.name) == ["orders"])
        #expect(reopened.snapshot.config.targets.map(\.weight) == [100, 7])
        #expect(reopened.snapshot.generation == 2)
        await closeStore(reopened)
    }

    @Test(arguments: StoreKind.allCases) func reloadPicksUpAnotherWriter(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let first = try await db.open()
        let second = try await db.open()
        defer { Task { await closeStore(first); await closeStore(second) } }
        try await second.importDeclarative(Fixtures.kong)
        #expect(first.snapshot.config.services.isEmpty)
        let reloaded = try await first.reload()
        #expect(reloaded.config.services.count == 2)
        #expect(reloaded.generation == 1)
    }

    /// Two writers that each start from a stale copy: neither loses the other's change, because each write is
    /// computed from the newest committed configuration.
    @Test(arguments: StoreKind.allCases) func writesFromTwoStoresBothLand(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let first = try await db.open()
        let second = try await db.open()
        defer { Task { await closeStore(first); await closeStore(second) } }
        try await first.importDeclarative(Fixtures.kong)
        _ = try await second.update { config in
            var config = config
            config.targets[0].weight = 11
            return config
        }
        let last = try await first.update { config in
            var config = config
            config.targets[1].weight = 22
            return config
        }
        #expect(last.generation == 3)
        #expect(last.config.targets.map(\.weight) == [11, 22])
    }

    @Test(arguments: StoreKind.allCases) func tokensAreHashedAndMatchTheirRole(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        #expect(await !store.hasTokens)
        let admin = try await store.createToken(name: "ops", role: .admin)
        let reader = try await store.createToken(name: "dashboard", role: .readOnly)
        #expect(admin != reader)
        #expect(await store.hasTokens)
        #expect(await store.role(ofToken: admin) == .admin)
        #expect(await store.role(ofToken: reader) == .readOnly)
        #expect(await store.role(ofToken: admin + "x") == nil)
        #expect(await store.role(ofToken: "") == nil)
        #expect(try await store.tokens() == [AdminTokenInfo(name: "dashboard", role: .readOnly),
                                             AdminTokenInfo(name: "ops", role: .admin)])
        // The secret itself is nowhere in the database.
        let stored: String
        switch kind {
        case .sqlite: stored = String(decoding: try Data(contentsOf: URL(fileURLWithPath: db.path)), as: UTF8.self)
        case .postgres: stored = try #require(db.server).psql("SELECT name, role, sha256 FROM switchyard_admin_token", database: db.name)
        }
        #expect(stored.contains("dashboard"))
        #expect(!stored.contains(admin))
        #expect(!stored.contains(reader))
        // Another store (another node) sees the same tokens.
        let other = try await db.open()
        #expect(await other.role(ofToken: admin) == .admin)
        await closeStore(other)
    }

    @Test(arguments: StoreKind.allCases) func replacingAndRemovingTokens(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        let old = try await store.createToken(name: "ops", role: .admin)
        let new = try await store.createToken(name: "ops", role: .readOnly)
        #expect(await store.role(ofToken: old) == nil)
        #expect(await store.role(ofToken: new) == .readOnly)
        #expect(try await store.removeToken(name: "ops"))
        #expect(try await !store.removeToken(name: "ops"))
        #expect(await store.role(ofToken: new) == nil)
        #expect(await !store.hasTokens)
    }

    @Test(arguments: StoreKind.allCases) func csvImportThroughTheStoreIsAllOrNothing(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        try await store.importDeclarative(Fixtures.kong)
        let before = store.snapshot
        await #expect(throws: ConfigError.self) {
            try await store.update { config throws(ConfigError) in
                try TargetCSV.merge("orders.upstream,127.0.0.1:9009,1\nx,y:z,1", into: config)
            }
        }
        #expect(store.snapshot == before)
        let after = try await store.update { config throws(ConfigError) in
            try TargetCSV.merge("orders.upstream,127.0.0.1:9009,1", into: config)
        }
        #expect(after.config.targets.count == before.config.targets.count + 1)
        let reopened = try await db.open()
        #expect(reopened.snapshot.config.targets.map(\.target).contains("127.0.0.1:9009"))
        await closeStore(reopened)
    }

    @Test(arguments: StoreKind.allCases) func exportAndReimportGiveAnEqualConfiguration(_ kind: StoreKind) async throws {
        let db = try await StoreDatabase(kind)
        let store = try await db.open()
        defer { Task { await closeStore(store) } }
        try await store.importDeclarative(Fixtures.kong)
        let exported = store.snapshot.config.export(as: .yaml)
        let other = try await StoreDatabase(kind)
        let copy = try await other.open()
        try await copy.importDeclarative(exported)
        #expect(copy.snapshot.config == store.snapshot.config)
        await closeStore(copy)
    }
}
