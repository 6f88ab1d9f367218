import NIOCore

/// The timers of one `DirectEventLoop`: a binary min-heap by deadline (ties in scheduling order), with cancelled
/// timers dropped lazily. Cancelling is O(1) and the heap is rebuilt without them once they are half of it, so a
/// connection that cancels its timer on every close never makes the loop search a long heap.
struct TimerQueue {
    final class Timer {
        let deadline: NIODeadline
        let order: UInt64
        /// Called with true when the timer fires, with false when the loop shuts down first.
        var task: ((Bool) -> Void)?

        init(deadline: NIODeadline, order: UInt64, task: @escaping (Bool) -> Void) {
            self.deadline = deadline
            self.order = order
            self.task = task
        }

        var isCancelled: Bool { task == nil }

        func fires(before other: Timer) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && order < other.order)
        }
    }

    private var heap: [Timer] = []
    private var cancelled = 0
    private var nextOrder: UInt64 = 0

    var isEmpty: Bool { heap.count == cancelled }

    /// Adds a timer; keep the result to cancel it.
    mutating func schedule(at deadline: NIODeadline, _ task: @escaping (Bool) -> Void) -> Timer {
        nextOrder &+= 1
        let timer = Timer(deadline: deadline, order: nextOrder, task: task)
        heap.append(timer)
        siftUp(heap.count - 1)
        return timer
    }

    mutating func cancel(_ timer: Timer) {
        guard !timer.isCancelled else { return }
        timer.task = nil
        cancelled += 1
        if cancelled > 64 && cancelled * 2 > heap.count { compact() }
    }

    /// The earliest deadline of a live timer.
    mutating func nextDeadline() -> NIODeadline? {
        dropCancelledTop()
        return heap.first?.deadline
    }

    /// Removes and returns the task of the earliest live timer due at `now`, or nil.
    mutating func popDue(now: NIODeadline) -> ((Bool) -> Void)? {
        dropCancelledTop()
        guard let top = heap.first, top.deadline <= now, let task = top.task else { return nil }
        top.task = nil
        removeTop()
        return task
    }

    /// Removes every live timer and returns their tasks in deadline order (for shutdown).
    mutating func removeAll() -> [(Bool) -> Void] {
        let live = heap.sorted { $0.fires(before: $1) }.compactMap(\.task)
        for timer in heap { timer.task = nil }
        heap.removeAll()
        cancelled = 0
        return live
    }

    private mutating func dropCancelledTop() {
        while let top = heap.first, top.isCancelled {
            removeTop()
            cancelled -= 1
        }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func compact() {
        heap.removeAll { $0.isCancelled }
        cancelled = 0
        guard heap.count > 1 else { return }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].fires(before: heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var first = left
            if left + 1 < heap.count && heap[left + 1].fires(before: heap[left]) { first = left + 1 }
            guard heap[first].fires(before: heap[parent]) else { return }
            heap.swapAt(first, parent)
            parent = first
        }
    }
}
