import Synchronization
import Testing
import TestSupport

/// The helpers other suites lean on for time and randomness: the manual clock wakes sleepers exactly at their
/// deadline and on cancellation, polling returns what it waited for or nil at its deadline, and the seeded
/// generator replays.
@Suite("ManualClock, poll and SeededGenerator")
struct TimeAndRandomTests {
    @Test("a sleeper wakes when the clock passes its deadline, not before; past deadlines return at once")
    func manualClockWakesAtTheDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        let woke = Flag()
        let sleeper = Task {
            try await clock.sleep(until: start + .seconds(10))
            woke.value.store(true, ordering: .relaxed)
        }
        #expect(await waitFor(.seconds(5)) { clock.sleeping == 1 } != nil)
        clock.advance(by: .seconds(9))
        try await Task.sleep(for: .milliseconds(50))
        #expect(!woke.value.load(ordering: .relaxed) && clock.sleeping == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(woke.value.load(ordering: .relaxed) && clock.sleeping == 0)
        #expect(clock.now == start + .seconds(10))
        try await clock.sleep(until: start)  // already past: returns without waiting
    }

    @Test("cancelling a sleeper throws CancellationError and forgets it, before or while it waits")
    func manualClockCancellation() async throws {
        let clock = ManualClock()
        let waiting = Task { try await clock.sleep(until: clock.now + .seconds(60)) }
        #expect(await waitFor(.seconds(5)) { clock.sleeping == 1 } != nil)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(clock.sleeping == 0)

        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }  // cancelled before it starts to wait
            try await clock.sleep(until: clock.now + .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(clock.sleeping == 0)
    }

    @Test("poll returns the value and how long it took, or nil once the limit has passed")
    func pollReturnsOrTimesOut() async {
        let calls = Atomic<Int>(0)
        let found = await poll(within: .seconds(60), every: .milliseconds(1)) { () -> String? in
            calls.add(1, ordering: .relaxed).newValue >= 3 ? "ready" : nil
        }
        #expect(found?.value == "ready" && calls.load(ordering: .relaxed) == 3)
        let start = ContinuousClock.now
        #expect(await waitFor(.milliseconds(100), every: .milliseconds(10)) { false } == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        #expect(await waitFor(.milliseconds(100)) { true } != nil)
    }

    @Test("the seeded generator replays the same sequence for the same seed (SplitMix64)")
    func seededGeneratorReplays() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        // SplitMix64's published first output for seed 0.
        var zero = SeededGenerator(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
    }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
