import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A long-running child (a `switchyard start` under test): output goes to files that the test reads while
/// it runs; only this child is ever signalled, by its PID, and it is stopped and reaped by `stop()`.
public final class BackgroundProcess {
    public let pid: pid_t
    private let outPath: String
    private let errPath: String
    private var exited = false
    private var exitStatus: Int32?

    public init(_ command: String, _ arguments: [String], environment: [String: String]) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        outPath = scratch.path + ".out"
        errPath = scratch.path + ".err"
        pid = try ChildProcess.spawn(command, arguments, stdout: outPath, stderr: errPath, environment: environment)
    }

    deinit {
        stop()
        unlink(outPath)
        unlink(errPath)
    }

    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The first stdout line containing `text`, waiting up to `timeout`; nil if it never came (or the child ended).
    public func waitForLine(containing text: String, timeout: Duration = .seconds(20)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if hasExited { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// Waits for the child to exit by itself (it is reaped here, and never signalled afterwards); its exit status,
    /// or nil if it still ran after `timeout`.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if exited { return exitStatus }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                exitStatus = (status >> 8) & 0xff
                return exitStatus
            }
            usleep(20_000)
        }
        return nil
    }

    public func signal(_ signal: Int32) {
        guard !exited else { return }
        kill(pid, signal)
    }

    /// SIGTERM, then SIGKILL after `grace`; reaps the child.
    public func stop(grace: Duration = .seconds(10)) {
        guard !hasExited else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while !hasExited {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                exited = true
                return
            }
            usleep(10_000)
        }
    }

    private var hasExited: Bool {
        if exited { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exited = true }
        return exited
    }
}
