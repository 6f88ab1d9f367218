import GRDB

/// The database schema as an ordered list of migrations. A migration, once released, never changes: a new
/// schema change is a new migration appended here.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_entities") { db in
            // One row per entity in Kong's Admin API JSON shape; `position` keeps the configured order so a
            // load gives back an equal configuration.
            try db.create(table: "entity") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull().indexed()
                t.column("position", .integer).notNull()
                t.column("name", .text)
                t.column("json", .text).notNull()
                t.column("updated_at", .double).notNull()
            }
            // Key/value facts about the stored configuration (its generation).
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("002_admin_tokens") { db in
            try db.create(table: "admin_token") { t in
                t.primaryKey("name", .text)
                t.column("role", .text).notNull()
                // Hex SHA-256 of the token; the token itself is shown once and never stored.
                t.column("sha256", .text).notNull().unique()
                t.column("created_at", .double).notNull()
            }
        }
        return migrator
    }

    /// Every migration this build knows, in order.
    static var identifiers: [String] { migrator.migrations }
}
