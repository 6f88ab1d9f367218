import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a command to completion with `posix_spawn` and `waitpid`.
///
/// Foundation's `Process` does not fit here: on Linux it learns that a child exited when every
/// holder of a socket it hands the child has closed it, so a script that leaves a daemon behind
/// looks like it never ends; and its children inherit the spawning thread's signal mask, which in
/// a test process blocks SIGTERM. This spawns with an empty signal mask and default signal
/// handling, sends output to files (no pipe can fill up), and reaps the child itself.
struct ChildProcess {
    struct Result {
        /// Exit status, or 128 + signal number if a signal ended the child.
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// - Parameters:
    ///   - command: a path, or a name looked up in `PATH` (as `posix_spawnp` does).
    ///   - timeout: the child is killed (SIGKILL) after this long and the call throws.
    static func run(_ command: String, _ arguments: [String], timeout: Duration) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("testdns-\(UUID().uuidString)")
        let outPath = scratch.path + ".out"
        let errPath = scratch.path + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }

        let commandLine = ([command] + arguments).joined(separator: " ")
        let pid = try spawn(command, arguments, stdout: outPath, stderr: errPath)

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var status: Int32 = 0
        var timedOut = false
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 && errno != EINTR {
                throw TestDNSError("lost track of \(commandLine) (pid \(pid)): \(String(cString: strerror(errno)))")
            }
            if clock.now >= deadline && !timedOut {
                timedOut = true
                kill(pid, SIGKILL)
            }
            usleep(timedOut ? 1_000 : 5_000)
        }

        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if timedOut {
            throw TestDNSError("\(commandLine) did not finish within \(timeout) and was killed", stderr: stderr)
        }
        let signal = status & 0x7F
        return Result(status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal, stdout: stdout, stderr: stderr)
    }

    /// Starts `command` with an empty signal mask and default signal handling, stdin from /dev/null, output to
    /// the given files and no other inherited descriptor; the caller reaps it.
    static func spawn(_ command: String, _ arguments: [String], stdout outPath: String, stderr errPath: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else of the test process reaches the child: a socket it inherited would stay open (a port
        // bound, a connection not closed) for as long as the child lives, whatever the test closes.
        guard Self.closeFrom(&actions, 3) == 0 else {
            throw TestDNSError("cannot ask posix_spawn to close inherited descriptors")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = Self.cStrings([command] + arguments)
        let envp = Self.cStrings(environment.map { "\($0.key)=\($0.value)" })
        defer {
            Self.release(argv)
            Self.release(envp)
        }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, command, &actions, &attributes, argv.pointer, envp.pointer)
        guard spawned == 0 else {
            let commandLine = ([command] + arguments).joined(separator: " ")
            throw TestDNSError("cannot run \(commandLine): \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time because
    /// Swift's Glibc module does not import the GNU extension.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        typealias Function = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            return { _, _ in -1 }
        }
        return unsafeBitCast(symbol, to: Function.self)
    }()

    /// A NULL-terminated array of C strings, as `execve` takes; release with `release(_:)`.
    private static func cStrings(_ strings: [String]) -> (pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, count: Int) {
        let pointer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            (pointer + index).initialize(to: strdup(string))
        }
        (pointer + strings.count).initialize(to: nil)
        return (pointer, strings.count)
    }

    private static func release(_ array: (pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, count: Int)) {
        for index in 0..<array.count { free(array.pointer[index]) }
        array.pointer.deinitialize(count: array.count + 1)
        array.pointer.deallocate()
    }
}
