import Testing

/// The proxy's integration suites: real sockets on loopback. Serialized as a whole because test clients
/// block their thread on socket reads, and timing assertions (timeouts, RSS) need a quiet machine.
@Suite(.serialized) enum ProxyIntegrationTests {}
