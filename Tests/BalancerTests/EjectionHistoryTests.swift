import Testing
@testable import Balancer

@Suite("ejection history")
struct EjectionHistoryTests {
    @Test("ejections open and close, totals count each, and ended ones leave after the window")
    func window() {
        var history = EjectionHistory(window: 600, capacity: 100)
        let a = v4(1), b = v4(2)
        history.ejected(a, reason: "connect failures", at: 1000)
        history.ejected(a, reason: "connect failures", at: 1001)   // still out: the same ejection
        history.ejected(b, reason: "timeouts", at: 1002)
        history.restored(a, at: 1030)
        history.ejected(a, reason: "probe failures", at: 1100)
        #expect(history.totals == [a: 2, b: 1])
        let recent = history.recent(now: 1200)
        #expect(recent.count == 3)
        #expect(recent[0].end == 1030 && recent[0].reason == "connect failures")
        #expect(recent.filter { $0.end == nil }.map(\.address) == [b, a])
        // 1030 + 600 < 1700: the first ejection has left; the open ones stay however old.
        #expect(history.recent(now: 1700).count == 2)
    }

    @Test("an address that leaves DNS while out ends its ejection, saying why")
    func leftDNS() {
        var history = EjectionHistory()
        history.ejected(v4(1), reason: "passive", at: 10)
        history.left(v4(1), at: 20)
        #expect(history.ejections == [.init(address: v4(1), start: 10, end: 20, reason: "passive; left DNS")])
        history.left(v4(2), at: 21)
        #expect(history.ejections.count == 1)
    }

    @Test("over capacity, ended ejections go first")
    func capacity() {
        var history = EjectionHistory(window: 600, capacity: 3)
        history.ejected(v4(1), reason: "x", at: 0)
        history.ejected(v4(2), reason: "x", at: 1)
        history.restored(v4(2), at: 2)
        history.ejected(v4(3), reason: "x", at: 3)
        history.ejected(v4(4), reason: "x", at: 4)
        #expect(history.ejections.map(\.address) == [v4(1), v4(3), v4(4)])
        #expect(history.totals.values.reduce(0, +) == 4)
    }
}
