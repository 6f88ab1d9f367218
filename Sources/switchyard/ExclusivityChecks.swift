import CSwiftRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Swift checks at run time that two accesses to one variable never overlap, wherever the compiler cannot prove
/// it (class properties, globals, captured variables). Each check costs about 80 instructions: a thread-local
/// lookup and a list insert. A proxied request makes about 130 of them, most in SwiftNIO's channel code: about
/// 15 % of all the instructions a request costs (`Benchmarks/proxy/instructions.sh`).
///
/// A node turns the runtime check off when it starts, which is what building every module with
/// `-enforce-exclusivity=unchecked` would do; the compiler's static checks are unaffected. The test suites and
/// the fuzzers run the same code in their own processes with the check on, so an overlapping access still fails
/// a test. `SWITCHYARD_EXCLUSIVITY_CHECKS=1` keeps the check on in a node, to look for one in production.
enum ExclusivityChecks {
    static let environmentVariable = "SWITCHYARD_EXCLUSIVITY_CHECKS"

    /// Whether the node keeps the runtime check, given the variable's value.
    static func keep(_ value: String?) -> Bool {
        guard let value else { return false }
        return !["", "0", "false", "off", "no"].contains(value.lowercased())
    }

    /// Called first thing in `main`, before any other thread exists: the flag is then written before anything
    /// reads it. Accesses that began while the check was on still end correctly after it is turned off (an
    /// access records whether it was tracked).
    static func configure() {
        guard !keep(getenv(environmentVariable).map { String(cString: $0) }) else { return }
        switchyard_disable_exclusivity_checking()
    }
}
