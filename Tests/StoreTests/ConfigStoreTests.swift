import Config
import Foundation
import Store
import Testing

@Suite struct ConfigStoreTests {
    @Test func importSurvivesReopenAsAnEqualConfiguration() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let expected = try DeclarativeConfig.parse(Fixtures.kong).config
        do {
            let store = try SQLiteStore(path: db.path)
            let (snapshot, _) = try store.importDeclarative(Fixtures.kong)
            #expect(snapshot.generation == 1)
            #expect(snapshot.config == expected)
        }
        let reopened = try SQLiteStore(path: db.path)
        #expect(reopened.snapshot.config == expected)
        #expect(reopened.snapshot.generation == 1)
        #expect(reopened.snapshot.config.services.map(\.name) == ["orders", "static"])
        #expect(reopened.snapshot.config.targets.map(\.target) == ["127.0.0.1:9001", "127.0.0.1:9002"])
        #expect(reopened.snapshot.config.keyAuthCredentials.map(\.key) == ["alice-key"])
        #expect(reopened.snapshot.config.plugins.count == 1)
    }

    @Test func invalidImportChangesNothingAndListsEveryError() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteStore(path: db.path)
        try store.importDeclarative(Fixtures.kong)
        let before = store.snapshot
        do {
            try store.importDeclarative(Fixtures.invalid)
            Issue.record("an invalid file was imported")
        } catch let error as ConfigError {
            let paths = Set(error.errors.map(\.path))
            #expect(paths.contains("services[0].port"))
            #expect(paths.contains("services[1].name"))
            #expect(paths.contains("upstreams[0].slots"))
        }
        #expect(store.snapshot == before)
        let reopened = try SQLiteStore(path: db.path)
        #expect(reopened.snapshot == before)
    }

    @Test func failedChangeWritesNothing() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteStore(path: db.path)
        try store.importDeclarative(Fixtures.kong)
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try store.update { (_: DeclarativeConfig) throws(Refused) -> DeclarativeConfig in throw Refused() }
        }
        #expect(store.snapshot.generation == 1)
        #expect(try SQLiteStore(path: db.path).snapshot.generation == 1)
    }

    @Test func removalsAndChangesReachTheFile() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteStore(path: db.path)
        try store.importDeclarative(Fixtures.kong)
        let snapshot = try store.update { config in
            var config = config
            config.services.removeAll { $0.name == "static" }
            config.targets[1].weight = 7
            return config
        }
        #expect(snapshot.generation == 2)
        let reopened = try SQLiteStore(path: db.path).snapshot
        #expect(reopened.config.services.map(\.name) == ["orders"])
        #expect(reopened.config.targets.map(\.weight) == [100, 7])
        #expect(reopened.generation == 2)
    }

    @Test func reloadPicksUpAnotherWriter() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let first = try SQLiteStore(path: db.path)
        let second = try SQLiteStore(path: db.path)
        try second.importDeclarative(Fixtures.kong)
        #expect(first.snapshot.config.services.isEmpty)
        let reloaded = try first.reload()
        #expect(reloaded.config.services.count == 2)
        #expect(reloaded.generation == 1)
    }
}
