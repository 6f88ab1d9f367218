import Foundation
import Store
import Testing

@Suite struct AdminTokenTests {
    @Test func tokensAreStoredHashedAndMatchTheirRole() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteStore(path: db.path)
        #expect(!store.hasTokens)
        let admin = try store.createToken(name: "ops", role: .admin)
        let reader = try store.createToken(name: "dashboard", role: .readOnly)
        #expect(admin != reader)
        #expect(store.hasTokens)
        #expect(store.role(ofToken: admin) == .admin)
        #expect(store.role(ofToken: reader) == .readOnly)
        #expect(store.role(ofToken: admin + "x") == nil)
        #expect(store.role(ofToken: "") == nil)
        #expect(try store.tokens() == [AdminTokenInfo(name: "dashboard", role: .readOnly),
                                       AdminTokenInfo(name: "ops", role: .admin)])
        // The secret itself is nowhere in the database file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db.path))
        #expect(bytes.range(of: Data(admin.utf8)) == nil)
        #expect(bytes.range(of: Data(reader.utf8)) == nil)
    }

    @Test func replacingAndRemovingTokens() throws {
        let db = try TempDatabase()
        defer { db.cleanup() }
        let store = try SQLiteStore(path: db.path)
        let old = try store.createToken(name: "ops", role: .admin)
        let new = try store.createToken(name: "ops", role: .readOnly)
        #expect(store.role(ofToken: old) == nil)
        #expect(store.role(ofToken: new) == .readOnly)
        #expect(try store.removeToken(name: "ops"))
        #expect(try !store.removeToken(name: "ops"))
        #expect(store.role(ofToken: new) == nil)
        #expect(!store.hasTokens)
    }
}
