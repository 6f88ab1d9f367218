/// Keeps the stored `position` of entities that stay where they were, so a change to one entity rewrites one
/// row (and one change-log entry) instead of renumbering every entity after it. Order is kept exactly: an
/// entity whose old position no longer fits (inserted before it, or reordered by an import) takes the next
/// free one after its predecessor, so positions always increase in configuration order.
enum StablePositions {
    /// `rows` in configuration order (positions are indexes); `stored` by id. Returns `rows` with positions.
    static func assign(_ rows: [EntityRow], stored: [String: EntityRow]) -> [EntityRow] {
        var out: [EntityRow] = []
        out.reserveCapacity(rows.count)
        var start = 0
        while start < rows.count {
            var end = start
            while end < rows.count, rows[end].kind == rows[start].kind { end += 1 }
            out += assignKind(rows[start..<end], stored: stored)
            start = end
        }
        return out
    }

    private static func assignKind(_ rows: ArraySlice<EntityRow>, stored: [String: EntityRow]) -> [EntityRow] {
        var placed: [EntityRow] = []
        placed.reserveCapacity(rows.count)
        var last = -1
        for var row in rows {
            if let old = stored[row.id], old.kind == row.kind, old.position > last {
                row.position = old.position
            } else {
                row.position = last + 1
            }
            last = row.position
            placed.append(row)
        }
        return placed
    }
}
