#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Atomics
import Dispatch
import Foundation
import Synchronization

/// Where access-log lines go, written by a thread of its own so no event loop ever waits for a disk.
///
/// Each event loop formats its lines into a buffer of its own (`LoopContext.log`) and hands the buffer over every
/// 100 ms or 64 KiB: one short lock per hand-over, none per request. When the writer falls more than
/// `maxPendingBytes` behind (a slow or full disk), new buffers are dropped and their lines counted in `dropped`.
/// `reopen()` (SIGUSR1) closes and opens the file again after logrotate moved it.
public final class AccessLog: Sendable {
    public enum Destination: Sendable, Equatable {
        case file(String)
        case stdout
    }

    private struct Pending {
        var chunks: [(bytes: [UInt8], lines: Int)] = []
        var bytes = 0
        var reopen = false
        var stopping = false
    }

    public let destination: Destination
    public let format: AccessLogFormat
    private let pending = Mutex(Pending())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let droppedLines = ManagedAtomic<Int>(0)
    private let writtenLines = ManagedAtomic<Int>(0)
    private let reopenFailures = ManagedAtomic<Int>(0)
    static let maxPendingBytes = 16 << 20

    /// Opens the destination (so a path that cannot be written stops the node at start) and starts the writer.
    public init(destination: Destination, format: AccessLogFormat) throws(AccessLogError) {
        self.destination = destination
        self.format = format
        let fd = try Self.open(destination)
        let thread = Thread { [self] in self.run(fd: fd) }
        thread.name = "switchyard-access-log"
        thread.start()
    }

    /// Lines written so far.
    public var written: Int { writtenLines.load(ordering: .relaxed) }
    /// Lines dropped because the writer was too far behind.
    public var dropped: Int { droppedLines.load(ordering: .relaxed) }

    /// Takes a loop's formatted lines. Never blocks beyond one short lock.
    func submit(_ bytes: [UInt8], lines: Int) {
        let accepted = pending.withLock { state -> Bool in
            guard !state.stopping, state.bytes + bytes.count <= Self.maxPendingBytes else { return false }
            state.chunks.append((bytes, lines))
            state.bytes += bytes.count
            return true
        }
        if accepted {
            wake.signal()
        } else {
            droppedLines.wrappingIncrement(by: lines, ordering: .relaxed)
        }
    }

    /// Opens the file again at its path (after logrotate renamed it); lines already handed over go to the new one.
    public func reopen() {
        pending.withLock { $0.reopen = true }
        wake.signal()
    }

    /// Writes what is pending and stops the writer. Lines submitted afterwards are dropped.
    public func stop() {
        let first = pending.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        wake.signal()
        finished.wait()
    }

    private func run(fd initial: CInt) {
        var fd = initial
        while true {
            wake.wait()
            let (chunks, reopen, stopping) = pending.withLock { state in
                defer {
                    state.chunks = []
                    state.bytes = 0
                    state.reopen = false
                }
                return (state.chunks, state.reopen, state.stopping)
            }
            if reopen, case .file = destination {
                if let reopened = try? Self.open(destination) {
                    close(fd)
                    fd = reopened
                } else {
                    reopenFailures.wrappingIncrement(ordering: .relaxed)
                }
            }
            for chunk in chunks {
                Self.writeAll(chunk.bytes, to: fd)
                writtenLines.wrappingIncrement(by: chunk.lines, ordering: .relaxed)
            }
            if stopping {
                if case .file = destination { close(fd) }
                finished.signal()
                return
            }
        }
    }

    private static func open(_ destination: Destination) throws(AccessLogError) -> CInt {
        switch destination {
        case .stdout:
            return STDOUT_FILENO
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw AccessLogError(message: "access_log: cannot open \(path): \(String(cString: strerror(errno)))")
            }
            return fd
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: CInt) {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let written = write(fd, base + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

public struct AccessLogError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
