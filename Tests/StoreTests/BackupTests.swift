import Config
import Foundation
import Store
import Testing
import TestSupport

/// `db backup` / `db restore` at the store level: the whole configuration and the tokens (as hashes) go to one
/// file and back into either kind of store, all or nothing.
@Suite struct BackupTests {
    @Test(arguments: StoreKind.allCases) func aBackupRestoresIntoAnotherStoreWithWorkingTokens(_ kind: StoreKind) async throws {
        let source = try await StoreDatabase(kind)
        let original = try await source.open()
        defer { Task { await closeStore(original) } }
        try await original.importDeclarative(Fixtures.kong)
        let secret = try await original.createToken(name: "ops", role: .admin)
        let viewer = try await original.createToken(name: "viewer", role: .readOnly)
        let backup = StoreBackup(config: original.snapshot.config, tokens: try await original.storedTokens(),
                                 version: original.snapshot.generation, database: original.location)
        let text = backup.text()
        #expect(!text.contains(secret) && !text.contains(viewer), "a backup holds token hashes, never tokens")
        #expect(text.contains("\"alice-key\""), "consumers' credentials are part of the configuration")

        // The target already holds other entities and another token: a restore replaces them all.
        let target = try await StoreDatabase(kind)
        let restored = try await target.open()
        try await restored.importDeclarative("""
            _format_version: "3.0"
            services:
            - name: leftover
              url: http://127.0.0.1:9100
            """)
        let stale = try await restored.createToken(name: "stale", role: .admin)
        let before = restored.snapshot.generation
        let parsed = try StoreBackup.parse(text, source: "backup.json")
        #expect(parsed.version == backup.version)
        let snapshot = try await restored.restore(parsed.config, tokens: parsed.tokens)
        #expect(snapshot.generation > before)
        #expect(snapshot.config == original.snapshot.config)
        #expect(await restored.role(ofToken: secret) == .admin)
        #expect(await restored.role(ofToken: viewer) == .readOnly)
        #expect(await restored.role(ofToken: stale) == nil)
        await closeStore(restored)

        // What was restored is what a reopened store reads.
        let reopened = try await target.open()
        defer { Task { await closeStore(reopened) } }
        #expect(reopened.snapshot.config == original.snapshot.config)
        #expect(try await reopened.tokens().map(\.name) == ["ops", "viewer"])
        #expect(await reopened.role(ofToken: secret) == .admin)
        #expect(!reopened.snapshot.config.services.contains { $0.name == "leftover" })
    }

    @Test func aFollowingNodeTakesUpARestore() async throws {
        let db = try await StoreDatabase(.postgres)
        let writer = try await db.open()
        let follower = try #require(try await db.open() as? PostgresStore)
        defer { Task { await closeStore(writer); await follower.close() } }
        follower.follow(every: .seconds(600)) { _ in }
        let secret = try await writer.createToken(name: "ops", role: .admin)
        #expect(await waitFor(.seconds(5)) { follower.role(ofToken: secret) == .admin } != nil)
        let backup = try StoreBackup.parse(StoreBackup(config: try DeclarativeConfig.parse(Fixtures.kong).config,
                                                       tokens: [], version: 7, database: "elsewhere").text(),
                                           source: "backup.json")
        let snapshot = try await writer.restore(backup.config, tokens: backup.tokens)
        #expect(await waitFor(.seconds(5)) { follower.snapshot.generation == snapshot.generation } != nil)
        #expect(follower.snapshot.config == backup.config)
        #expect(follower.role(ofToken: secret) == nil, "the restore removed every token the backup does not hold")
    }

    @Test func aBadBackupListsEveryProblem() throws {
        let text = """
            {"format": "switchyard-backup", "format_version": 1,
             "config": {"_format_version": "3.0", "services": [{"name": "a", "url": "http://127.0.0.1:9000", "port": 70000}]},
             "admin_tokens": [{"name": "ops", "role": "root", "sha256": "\(String(repeating: "a", count: 64))"},
                              {"name": "viewer", "role": "read-only", "sha256": "not-a-hash"},
                              {"name": "twice", "role": "admin", "sha256": "\(String(repeating: "b", count: 64))"},
                              {"name": "twice", "role": "admin", "sha256": "\(String(repeating: "c", count: 64))"},
                              {"role": "admin"}]}
            """
        do {
            _ = try StoreBackup.parse(text, source: "bad.json")
            Issue.record("a bad backup was accepted")
        } catch {
            #expect(error.code == .corrupt)
            for expected in ["nothing changed", "config: services[0].port", "role \"root\"", "(viewer): sha256",
                             "twice is listed twice", "admin_tokens[4]: needs name"] {
                #expect(error.message.contains(expected), "\(expected) missing from:\n\(error.message)")
            }
        }
        #expect(throws: StoreError.self) { try StoreBackup.parse(Fixtures.kong, source: "kong.yaml") }
        do {
            _ = try StoreBackup.parse(#"{"_format_version": "3.0"}"#, source: "kong.json")
            Issue.record("a Kong file was taken for a backup")
        } catch {
            #expect(error.message.contains("config import"), "\(error.message)")
        }
        do {
            _ = try StoreBackup.parse(#"{"format": "switchyard-backup", "format_version": 9, "config": {}}"#, source: "new.json")
            Issue.record("a backup from a newer format was accepted")
        } catch {
            #expect(error.message.contains("format_version 9"), "\(error.message)")
        }
    }
}
