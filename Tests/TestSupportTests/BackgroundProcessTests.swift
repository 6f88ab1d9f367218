import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The long-running child helper: output read while it runs, signals to its PID only, and a stop that
/// always reaps it, even when it ignores SIGTERM.
@Suite("BackgroundProcess runs, signals and reaps one child", .timeLimit(.minutes(1)))
struct BackgroundProcessTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test func readsOutputWhileRunningAndDeliversSignals() throws {
        let child = try BackgroundProcess("/bin/sh", ["-c", "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.05; done"],
                                          environment: Self.environment)
        #expect(child.waitForLine(containing: "ready", timeout: .seconds(10)) == "ready")
        child.signal(SIGHUP)
        #expect(child.waitForLine(containing: "got-hup", timeout: .seconds(10)) != nil)
        child.stop()
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "stopped and reaped")
    }

    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGrace() throws {
        let child = try BackgroundProcess("/bin/sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
                                          environment: Self.environment)
        #expect(child.waitForLine(containing: "ready", timeout: .seconds(10)) != nil)
        let started = ContinuousClock.now
        child.stop(grace: .milliseconds(300))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(250) && took < .seconds(5), "took \(took)")
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH)
    }

    @Test func waitingForALineEndsWhenTheChildExits() throws {
        let child = try BackgroundProcess("/bin/sh", ["-c", "echo something-else"], environment: Self.environment)
        let started = ContinuousClock.now
        #expect(child.waitForLine(containing: "never printed", timeout: .seconds(20)) == nil)
        #expect(ContinuousClock.now - started < .seconds(10), "returned when the child ended, not at the timeout")
        #expect(child.stdout == "something-else\n")
    }

    @Test func theChildInheritsNoDescriptorButItsOutput() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { for end in pipeEnds { close(end) } }
        let child = try BackgroundProcess("/bin/sh", ["-c", "ls /proc/$$/fd; echo done"], environment: Self.environment)
        #expect(child.waitForLine(containing: "done", timeout: .seconds(10)) != nil)
        let open = child.stdout.split(separator: "\n").compactMap { Int32($0) }
        #expect(open.allSatisfy { $0 <= 2 }, "the child holds \(open), the test's pipe is \(pipeEnds)")
    }
}
