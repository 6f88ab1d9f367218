import NIOCore
import Testing
@testable import Proxy

/// The direct event loop's timers without a loop: deadline order, ties in scheduling order, cancelling, and the
/// rebuild that drops cancelled timers.
@Suite("Timer queue")
struct TimerQueueTests {
    private func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    @Test func firesByDeadlineAndTiesInSchedulingOrder() {
        var queue = TimerQueue()
        var fired: [String] = []
        for (name, ms) in [("c", 30), ("a", 10), ("b1", 20), ("b2", 20), ("d", 40)] as [(String, Int64)] {
            _ = queue.schedule(at: at(ms)) { fire in if fire { fired.append(name) } }
        }
        #expect(queue.nextDeadline() == at(10))
        #expect(queue.popDue(now: at(9)) == nil, "nothing is due before its deadline")
        while let task = queue.popDue(now: at(30)) { task(true) }
        #expect(fired == ["a", "b1", "b2", "c"])
        #expect(queue.nextDeadline() == at(40))
        #expect(!queue.isEmpty)
    }

    @Test func aCancelledTimerNeverFires() {
        var queue = TimerQueue()
        var fired: [Int] = []
        let first = queue.schedule(at: at(10)) { _ in fired.append(1) }
        _ = queue.schedule(at: at(20)) { _ in fired.append(2) }
        queue.cancel(first)
        queue.cancel(first)  // twice is harmless
        #expect(queue.nextDeadline() == at(20), "the cancelled head is skipped")
        while let task = queue.popDue(now: at(100)) { task(true) }
        #expect(fired == [2])
        #expect(queue.isEmpty)
    }

    @Test func manyCancelledTimersAreDroppedAndTheRestKeepTheirOrder() {
        var queue = TimerQueue()
        var fired: [Int] = []
        var timers: [TimerQueue.Timer] = []
        var generator = SystemRandomNumberGenerator()
        var deadlines: [Int: Int64] = [:]
        for i in 0..<1000 {
            let ms = Int64.random(in: 1...500, using: &generator)
            deadlines[i] = ms
            timers.append(queue.schedule(at: at(ms)) { _ in fired.append(i) })
        }
        for i in stride(from: 0, to: 1000, by: 3) where i % 2 == 0 { queue.cancel(timers[i]) }
        for i in stride(from: 1, to: 1000, by: 2) { queue.cancel(timers[i]) }
        while let task = queue.popDue(now: at(1000)) { task(true) }
        let expected = (0..<1000).filter { $0 % 2 == 0 && $0 % 3 != 0 }
            .sorted { (deadlines[$0]!, $0) < (deadlines[$1]!, $1) }
        #expect(fired == expected)
        #expect(queue.isEmpty)
    }

    @Test func removingAllHandsBackTheLiveTimersInOrder() {
        var queue = TimerQueue()
        var outcomes: [String] = []
        _ = queue.schedule(at: at(20)) { fire in outcomes.append("b \(fire)") }
        let cancelled = queue.schedule(at: at(5)) { fire in outcomes.append("x \(fire)") }
        _ = queue.schedule(at: at(10)) { fire in outcomes.append("a \(fire)") }
        queue.cancel(cancelled)
        for task in queue.removeAll() { task(false) }
        #expect(outcomes == ["a false", "b false"])
        #expect(queue.isEmpty)
        #expect(queue.nextDeadline() == nil)
    }
}
