import Atomics
import CDirectIO
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Something registered with a `DirectEventLoop`'s epoll set: told which events its descriptor is ready for.
protocol DirectSelectable: AnyObject {
    func ready(_ events: UInt32)
}

/// A handler that decides whether each read its channel issues goes ahead (its `read(context:)` decision, asked
/// by a `DirectSocketChannel` without walking the pipeline).
protocol DirectReadGate: AnyObject {
    func admitRead() -> Bool
}

/// One proxy worker thread: a level-triggered epoll loop that runs its sockets' I/O, its tasks and its timers.
///
/// Why not SwiftNIO's `SelectableEventLoop`: the proxy's client and upstream sockets carry one small read and one
/// small write per request each way, and NIO's socket channel spends about 30,000 instructions per request around
/// those four system calls (`Benchmarks/proxy/instructions.sh`). This loop runs `DirectSocketChannel`s, which keep
/// NIO's `ChannelPipeline` (so the proxy's handlers, NIOSSL and the tests are the same) but do their I/O in a few
/// hundred instructions. It is a full `EventLoop`: futures, promises, `scheduleTask` and `submit` work on it.
///
/// `@unchecked Sendable`: the mutable state below is touched only on the loop's own thread (`inEventLoop` is
/// checked by every entry point that reaches it, and cross-thread calls go through `remote`, which is locked),
/// except `thread`, `state` and `remotePending`, which are atomics. Tasks that arrive after the thread ended run
/// on the caller's thread under `afterStop`; the loop's own tasks among them (setting or cancelling a timer)
/// check `inEventLoop` first and touch nothing then.
final class DirectEventLoop: EventLoop, @unchecked Sendable, CustomStringConvertible {
    private enum State: Int {
        case running = 0, stopping = 1, stopped = 2
    }

    let index: Int
    private let epollFD: CInt
    private let wakeFD: CInt
    private let thread = ManagedAtomic<UInt>(0)
    private let state = ManagedAtomic<Int>(State.running.rawValue)
    /// Tasks from other threads; `closed` once the loop's thread has ended.
    private let remote = NIOLockedValueBox(RemoteTasks())
    /// Runs, one at a time, the tasks that arrive after the loop's thread ended (see `enqueue`).
    private let afterStop = NIOLock()

    private struct RemoteTasks {
        var tasks: [() -> Void] = []
        var closed = false
    }
    /// Set by whoever adds to `remote` (and wakes the loop if it was clear); cleared by the loop before it takes
    /// them, so the loop takes the lock only when there is something to take, and no wake-up is lost.
    private let remotePending = ManagedAtomic(false)
    private let stopped = DispatchSemaphore(value: 0)

    // Loop thread only. `@exclusivity(unchecked)`: one thread, and no access to these spans a call out (tasks,
    // timers' closures and `ready` run on values copied out first), so the dynamic checks could never fail.
    @exclusivity(unchecked) private var tasks: [() -> Void] = []
    @exclusivity(unchecked) private var timers = TimerQueue()
    /// What is registered, by slot; a token is the slot (plus one: 0 is the wake-up's) and the slot's
    /// generation, so an event collected for something deregistered in the same round finds nothing.
    @exclusivity(unchecked) private var registrations: [(any DirectSelectable)?] = []
    @exclusivity(unchecked) private var generations: [UInt32] = []
    @exclusivity(unchecked) private var freeSlots: [Int] = []
    /// The receive buffer every channel of this loop reads into (see `DirectSocketChannel.readFromSocket`).
    @exclusivity(unchecked) var receiveBuffer: ByteBuffer
    /// The time as of this round (see `now`).
    @exclusivity(unchecked) private var roundNow = NIODeadline.now()
    /// True while a round's ready events are handed out; flushes then wait for the round's end (`deferFlush`).
    @exclusivity(unchecked) private(set) var isDispatching = false
    /// Channels that flushed during this round's dispatch, in order, written when it ends: the first
    /// `deferredCount` slots. Slots are emptied, not removed (`removeAll` cost about 340 instructions a round).
    @exclusivity(unchecked) private var deferredFlushes: [DirectSocketChannel?] = []
    @exclusivity(unchecked) private var deferredCount = 0
    let allocator = ByteBufferAllocator()

    static let receiveBufferSize = 64 * 1024
    private static let wakeToken: UInt64 = 0

    var description: String { "DirectEventLoop(\(index))" }

    /// Starts the loop's thread.
    init(index: Int) throws {
        self.index = index
        epollFD = epoll_create1(CInt(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw IOError(errnoCode: errno, reason: "epoll_create1") }
        wakeFD = eventfd(0, CInt(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            let code = errno
            _ = Glibc.close(epollFD)
            throw IOError(errnoCode: code, reason: "eventfd")
        }
        receiveBuffer = allocator.buffer(capacity: Self.receiveBufferSize)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            _ = Glibc.close(wakeFD)
            _ = Glibc.close(epollFD)
            throw IOError(errnoCode: code, reason: "epoll_ctl")
        }
        let started = DispatchSemaphore(value: 0)
        let box = Unmanaged.passRetained(ThreadStart { [self] in
            // Named for `top -H` and `perf` (at most 15 bytes): otherwise it keeps its creator's name.
            cdirectio_name_this_thread("switchyard-w\(self.index)")
            self.thread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
            started.signal()
            self.run()
        })
        var handle = pthread_t()
        let created = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            let start = Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue()
            start.body()
            return nil
        }, box.toOpaque())
        guard created == 0 else {
            box.release()
            _ = Glibc.close(wakeFD)
            _ = Glibc.close(epollFD)
            throw IOError(errnoCode: created, reason: "pthread_create")
        }
        pthread_detach(handle)
        started.wait()
    }

    private final class ThreadStart {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    // MARK: EventLoop

    var inEventLoop: Bool {
        thread.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    /// On the loop's thread, the time as of this round of the loop (`roundNow`); elsewhere, the clock's.
    ///
    /// A request asks for the time about a dozen times (timeouts, the access log's latencies, the pool) and one
    /// round serves many requests, so reading the clock once per round instead of per question saves ~12 clock
    /// reads a request, as nginx's and HAProxy's loops do. The time is read when `epoll_wait` returns and before
    /// timers run, so a timer's task sees a time at or past its deadline, and no round's time is older than the
    /// round's own work. Timers themselves are set from the clock (`scheduleTask(in:)`), never early.
    var now: NIODeadline {
        inEventLoop ? roundNow : .now()
    }

    /// `roundNow` without the thread check, for `LoopContext`, which only ever runs on this loop's thread.
    var roundTime: NIODeadline { roundNow }

    /// Runs `task` on the loop; after shutdown it is dropped, as no thread is left to run it.
    func execute(_ task: @escaping @Sendable () -> Void) {
        enqueue(task)
    }

    func _executeIsolatedUnsafeUnchecked(_ task: @escaping () -> Void) {
        enqueue(task)
    }

    var isRunning: Bool { state.load(ordering: .acquiring) == State.running.rawValue }

    private func enqueue(_ task: @escaping () -> Void) {
        if inEventLoop {
            tasks.append(task)
            return
        }
        let accepted = remote.withLockedValue { remote -> Bool in
            guard !remote.closed else { return false }
            remote.tasks.append(task)
            return true
        }
        guard accepted else {
            // The thread is gone, but futures of this loop still hop here to run their callbacks (awaiting one
            // from outside does): run the task now, one at a time, so nobody waits forever.
            afterStop.withLock { task() }
            return
        }
        if !remotePending.exchange(true, ordering: .acquiringAndReleasing) { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    func submit<T>(_ task: @escaping @Sendable () throws -> T) -> EventLoopFuture<T> {
        _submitIsolatedUnsafeUnchecked(task)
    }

    /// The task runs on the loop; after shutdown the future fails at once.
    func _submitIsolatedUnsafeUnchecked<T>(_ task: @escaping () throws -> T) -> EventLoopFuture<T> {
        let promise = makePromise(of: T.self)
        guard isRunning else {
            promise.fail(EventLoopError.shutdown)
            return promise.futureResult
        }
        enqueue {
            do { promise.assumeIsolatedUnsafeUnchecked().succeed(try task()) } catch { promise.fail(error) }
        }
        return promise.futureResult
    }

    @discardableResult
    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        schedule(deadline: deadline, task)
    }

    @discardableResult
    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        schedule(deadline: .now() + delay, task)
    }

    @discardableResult
    func _scheduleTaskIsolatedUnsafeUnchecked<T>(deadline: NIODeadline, _ task: @escaping () throws -> T) -> Scheduled<T> {
        schedule(deadline: deadline, task)
    }

    @discardableResult
    func _scheduleTaskIsolatedUnsafeUnchecked<T>(in delay: TimeAmount, _ task: @escaping () throws -> T) -> Scheduled<T> {
        schedule(deadline: .now() + delay, task)
    }

    /// A timer, set on the loop's thread (directly when called there). Cancelling from another thread hops too.
    private func schedule<T>(deadline: NIODeadline, _ task: @escaping () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        guard state.load(ordering: .relaxed) == State.running.rawValue else {
            promise.fail(EventLoopError.shutdown)
            return Scheduled(promise: promise, cancellationTask: {})
        }
        let run = { (fire: Bool) in
            guard fire else { return promise.fail(EventLoopError.shutdown) }
            do { promise.assumeIsolatedUnsafeUnchecked().succeed(try task()) } catch { promise.fail(error) }
        }
        if inEventLoop {
            let timer = timers.schedule(at: deadline, run)
            let handle = TimerHandle(timer)
            return Scheduled(promise: promise, cancellationTask: { [self] in self.cancel(handle) })
        }
        let handle = TimerHandle(nil)
        enqueue { [self] in
            // Run on the caller's thread when the loop stopped in the meantime: nothing would fire the timer.
            guard self.inEventLoop else { return run(false) }
            guard !handle.cancelledEarly else { return }
            handle.timer = self.timers.schedule(at: deadline, run)
        }
        return Scheduled(promise: promise, cancellationTask: { [self] in self.cancel(handle) })
    }

    /// A timer as seen by its `Scheduled`: set on the loop's thread, possibly after the `Scheduled` was returned.
    /// `@unchecked Sendable`: both fields are read and written only on the loop's thread (`cancel` hops there).
    private final class TimerHandle: @unchecked Sendable {
        var timer: TimerQueue.Timer?
        var cancelledEarly = false
        init(_ timer: TimerQueue.Timer?) { self.timer = timer }
    }

    private func cancel(_ handle: TimerHandle) {
        guard inEventLoop else {
            enqueue { [self] in
                // After the loop stopped there are no timers left to cancel (and hopping again would never end).
                guard self.inEventLoop else { return }
                self.cancel(handle)
            }
            return
        }
        if let timer = handle.timer {
            timers.cancel(timer)
        } else {
            handle.cancelledEarly = true
        }
    }

    func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on \(self)", file: file, line: line)
    }

    func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on \(self)", file: file, line: line)
    }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        if inEventLoop {
            queue.async { callback(EventLoopError.unsupportedOperation) }
            return
        }
        let (exchanged, _) = state.compareExchange(
            expected: State.running.rawValue, desired: State.stopping.rawValue, ordering: .acquiringAndReleasing)
        if exchanged { wake() }
        let stopped = self.stopped
        DispatchQueue.global().async {
            stopped.wait()
            stopped.signal()
            queue.async { callback(nil) }
        }
    }

    // MARK: Registration

    /// Adds `fd` to the epoll set with `events`; returns the token that identifies it.
    func register(_ fd: CInt, events: UInt32, for selectable: any DirectSelectable) throws -> UInt64 {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = registrations.count
            registrations.append(nil)
            generations.append(0)
        }
        let token = UInt64(generations[slot]) << 32 | UInt64(slot + 1)
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            let code = errno
            freeSlots.append(slot)
            throw IOError(errnoCode: code, reason: "epoll_ctl(ADD)")
        }
        registrations[slot] = selectable
        return token
    }

    func reregister(_ fd: CInt, token: UInt64, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Removes `fd` from the epoll set. Events of it already collected in this round are dropped.
    func deregister(_ fd: CInt, token: UInt64) {
        var event = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
        guard let slot = slot(of: token) else { return }
        registrations[slot] = nil
        generations[slot] &+= 1
        freeSlots.append(slot)
    }

    /// The slot `token` names while it is still registered.
    @inline(__always)
    private func slot(of token: UInt64) -> Int? {
        let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF) - 1
        guard slot >= 0, slot < registrations.count, generations[slot] == UInt32(truncatingIfNeeded: token >> 32) else {
            return nil
        }
        return slot
    }

    // MARK: The loop

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while state.load(ordering: .acquiring) == State.running.rawValue {
            runTasks()
            let timeout: CInt
            if !tasks.isEmpty {
                timeout = 0
            } else if let deadline = timers.nextDeadline() {
                let current = NIODeadline.now()
                let wait = deadline.uptimeNanoseconds &- current.uptimeNanoseconds
                // Round up: waking before the deadline would only loop back to wait again.
                timeout = deadline <= current ? 0 : CInt(clamping: (Int64(bitPattern: wait) + 999_999) / 1_000_000)
            } else {
                timeout = -1
            }
            let count = epoll_wait(epollFD, events, CInt(capacity), timeout)
            roundNow = .now()
            if count > 0 {
                isDispatching = true
                for i in 0..<Int(count) {
                    let token = events[i].data.u64
                    let ready = events[i].events
                    if token == Self.wakeToken {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                        continue
                    }
                    // Copied out first: `ready` may deregister (change `registrations`).
                    if let slot = slot(of: token), let target = registrations[slot] { target.ready(ready) }
                }
                isDispatching = false
                writeDeferredFlushes()
            }
            runTimers()
        }
        shutDown()
    }

    /// Called by a channel flushed during dispatch (once per round at most).
    func deferFlush(_ channel: DirectSocketChannel) {
        if deferredCount < deferredFlushes.count {
            deferredFlushes[deferredCount] = channel
        } else {
            deferredFlushes.append(channel)
        }
        deferredCount += 1
    }

    /// Writes the round's deferred flushes. No flush is deferred meanwhile (`isDispatching` is false), so the list
    /// does not change while it is walked.
    private func writeDeferredFlushes() {
        for index in 0..<deferredCount {
            // Copied out, as `ready`'s target is, and the slot emptied: it holds no channel past the round.
            guard let channel = deferredFlushes[index].take() else { continue }
            channel.writeDeferredFlush()
        }
        deferredCount = 0
    }

    private func runTasks() {
        if remotePending.load(ordering: .acquiring) {
            remotePending.store(false, ordering: .releasing)
            let taken = remote.withLockedValue { remote -> [() -> Void] in
                defer { remote.tasks.removeAll(keepingCapacity: true) }
                return remote.tasks
            }
            for task in taken { task() }
        }
        // Tasks may enqueue tasks; those run on the next round, after I/O, so a task chain cannot starve it.
        guard !tasks.isEmpty else { return }
        let local = tasks
        tasks.removeAll(keepingCapacity: true)
        for task in local { task() }
    }

    private func runTimers() {
        guard timers.nextDeadline() != nil else { return }
        let now = NIODeadline.now()
        roundNow = now
        var fired = 0
        while fired < 1024, let task = timers.popDue(now: now) {
            task(true)
            fired += 1
        }
    }

    /// Closes whatever is still registered, fails the timers, runs the tasks left, and lets the thread end.
    private func shutDown() {
        for selectable in registrations {
            (selectable as? DirectSocketChannel)?.close(promise: nil)
        }
        for _ in 0..<4 { runTasks() }
        for task in timers.removeAll() { task(false) }
        registrations.removeAll()
        // The last tasks: from here on `enqueue` runs them on the caller's thread instead.
        while true {
            runTasks()
            let last = remote.withLockedValue { remote -> [() -> Void] in
                if remote.tasks.isEmpty && tasks.isEmpty { remote.closed = true }
                defer { remote.tasks.removeAll() }
                return remote.tasks
            }
            for task in last { task() }
            if remote.withLockedValue({ $0.closed }) && tasks.isEmpty { break }
        }
        _ = Glibc.close(wakeFD)
        _ = Glibc.close(epollFD)
        state.store(State.stopped.rawValue, ordering: .releasing)
        stopped.signal()
    }
}
