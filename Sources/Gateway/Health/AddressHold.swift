/// Why an ejected address waits for a probe or an operator instead of a half-open trial.
public enum AddressHold: Sendable, Hashable {
    /// An operator marked it unhealthy: only an operator or passing probes bring it back (as in Kong).
    case manual
    /// Failing active probes ejected it and probes keep watching it: passing probes bring it back.
    case probe
}
