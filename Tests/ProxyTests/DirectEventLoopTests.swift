import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import Proxy

/// The proxy's own event loop as an `EventLoop`: tasks from other threads, futures, timers in deadline order,
/// cancelling, and shutdown.
@Suite("Direct event loop", .timeLimit(.minutes(1)))
struct DirectEventLoopTests {
    @Test func runsTasksFromOtherThreadsOnItsOwnThread() async throws {
        let loop = try DirectEventLoop(index: 0)
        #expect(!loop.inEventLoop)
        let onLoop = try await loop.submit { loop.inEventLoop }.get()
        #expect(onLoop)
        // Many threads at once: every task runs, once.
        let count = NIOLockedValueBox(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<500 { loop.execute { count.withLockedValue { $0 += 1 } } }
                }
            }
        }
        let total = try await loop.submit { count.withLockedValue { $0 } }.get()
        #expect(total == 4000)
        try await loop.shutdownGracefully()
    }

    @Test func onItsThreadNowIsTheRoundsTimeAndATimerSeesItsDeadlinePassed() async throws {
        let loop = try DirectEventLoop(index: 0)
        let (first, second) = try await loop.submit { () -> (NIODeadline, NIODeadline) in
            let first = loop.now
            usleep(2_000)  // work within the round
            return (first, loop.now)
        }.get()
        #expect(first == second, "one round, one time")
        #expect(NIODeadline.now() - first >= .milliseconds(2), "the clock moved on meanwhile")
        // A timer's task runs at or past its deadline by the loop's own time, so a timeout it checks has expired.
        let deadline = NIODeadline.now() + .milliseconds(20)
        let seen = try await loop.scheduleTask(deadline: deadline) { loop.now }.futureResult.get()
        #expect(seen >= deadline)
        // Off the loop, the clock's time.
        let before = NIODeadline.now()
        #expect(loop.now >= before)
        try await loop.shutdownGracefully()
    }

    @Test func itsThreadIsNamedAfterTheWorker() async throws {
        let loop = try DirectEventLoop(index: 3)
        let name = try await loop.submit { try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }.get()
        #expect(name == "switchyard-w3\n")
        try await loop.shutdownGracefully()
    }

    @Test func timersFireInDeadlineOrderAndNotBefore() async throws {
        let loop = try DirectEventLoop(index: 0)
        let fired = NIOLockedValueBox<[(Int, NIODeadline)]>([])
        let start = NIODeadline.now()
        let futures = try await loop.submit {
            [30, 10, 20].map { ms in
                loop.scheduleTask(in: .milliseconds(Int64(ms))) {
                    fired.withLockedValue { $0.append((ms, .now())) }
                }.futureResult
            }
        }.get()
        for future in futures { try await future.get() }
        let order = fired.withLockedValue { $0 }
        #expect(order.map(\.0) == [10, 20, 30])
        for (ms, at) in order {
            #expect(at - start >= .milliseconds(Int64(ms)), "\(ms) ms timer fired early")
        }
        // From another thread too.
        let value = try await loop.scheduleTask(in: .milliseconds(5)) { 42 }.futureResult.get()
        #expect(value == 42)
        try await loop.shutdownGracefully()
    }

    @Test func aCancelledTimerFailsItsFutureAndNeverRuns() async throws {
        let loop = try DirectEventLoop(index: 0)
        let ran = NIOLockedValueBox<[String]>([])
        // Set and cancelled from another thread (the timer is set on the loop later, or never).
        let scheduled = loop.scheduleTask(in: .seconds(2)) { ran.withLockedValue { $0.append("off-loop") } }
        scheduled.cancel()
        await #expect(throws: EventLoopError.self) { try await scheduled.futureResult.get() }
        // Set and cancelled on the loop; a later timer shows that the loop went past both deadlines.
        let marker = try await loop.submit {
            loop.scheduleTask(in: .milliseconds(20)) { ran.withLockedValue { $0.append("on-loop") } }.cancel()
            return loop.scheduleTask(in: .milliseconds(2100)) { ran.withLockedValue { $0.append("marker") } }
        }.get()
        try await marker.futureResult.get()
        #expect(ran.withLockedValue { $0 } == ["marker"])
        try await loop.shutdownGracefully()
    }

    @Test func shutdownFailsPendingTimersAndLaterWorkStillCompletes() async throws {
        let loop = try DirectEventLoop(index: 0)
        let pending = loop.scheduleTask(in: .seconds(60)) { 1 }
        // The timer is set on the loop's thread; wait until it is.
        _ = try await loop.submit {}.get()
        try await loop.shutdownGracefully()
        #expect(!loop.isRunning)
        await #expect(throws: EventLoopError.self) { try await pending.futureResult.get() }
        // Futures of a stopped loop still complete (their callbacks run on the caller's thread), and new work fails.
        await #expect(throws: EventLoopError.self) { try await loop.submit { 1 }.get() }
        let ran = NIOLockedValueBox(false)
        loop.execute { ran.withLockedValue { $0 = true } }
        #expect(ran.withLockedValue { $0 })
        // Cancelling a timer of the stopped loop returns (it used to hop forever).
        pending.cancel()
    }
}
