import Foundation
// An async closure whose result is returned indirectly (a generic `T`, here a tuple through `Task` or a
// task group) returns `(captured, try await f())` from inside `do`. Under -O the tuple's first element is
// never written: the caller reads whatever the task allocator left there (a stale String from an earlier
// task, or garbage, which crashes in swift_retain). -Onone is correct. The error type does not matter:
// typed and untyped throws both miscompile. Binding the awaited value to a local first is correct.
//
//   swift run -c release repro                   # wrong results or a crash
//   swift run -c release -Xswiftc -DWORKAROUND repro   # 0 wrong
//   swift run repro                              # debug: 0 wrong
struct Failure: Error { var message: String }

@inline(never)
func lookup(_ name: String) async throws(Failure) -> [Int] {
    await Task.yield()
    if name.hasPrefix("x") { throw Failure(message: "no such name") }
    return [1, 2, 3]
}

var wrong = 0
let rounds = 4000
for round in 0..<rounds {
    let name = round % 4 == 0 ? "x\(round)" : "a\(round)"
    let task = Task { () async -> (String, Result<[Int], Failure>) in
        #if WORKAROUND
        let outcome: Result<[Int], Failure>
        do throws(Failure) {
            outcome = .success(try await lookup(name))
        } catch {
            outcome = .failure(error)
        }
        return (name, outcome)
        #else
        do throws(Failure) {
            return (name, .success(try await lookup(name)))
        } catch {
            return (name, .failure(error))
        }
        #endif
    }
    let (got, outcome) = await task.value
    let expected: [Int]? = name.hasPrefix("x") ? nil : [1, 2, 3]
    if got != name || (try? outcome.get()) != expected {
        wrong += 1
        if wrong <= 3 { print("asked for \(name), the task returned \(got)") }
    }
}
print("\(wrong) wrong results in \(rounds)")
exit(wrong == 0 ? 0 : 1)
