import Atomics
import Logging

/// State every event loop reads: the published configuration snapshot and fixed server settings.
final class ServerShared: Sendable {
    let configuration: ManagedAtomic<ProxyConfiguration>
    let pool: PoolSettings
    let logger: Logger
    /// The bound port, known once the listener is up; sent as `X-Forwarded-Port`.
    let listenPort = ManagedAtomic<Int>(0)
    let workers: Int
    /// Where request lines go; nil when the access log is off.
    let accessLog: AccessLog?
    /// Where finished requests go for metrics; nil when nothing observes them.
    let observer: (any RequestObserver)?
    /// `observer != nil`, kept so the per-request check does not copy the existential.
    let observes: Bool
    /// Requests are followed from head to end (an access-log entry is filled in) for the log or the observer.
    let recordsRequests: Bool

    init(configuration: ProxyConfiguration, pool: PoolSettings, logger: Logger, workers: Int, accessLog: AccessLog? = nil,
         observer: (any RequestObserver)? = nil) {
        self.configuration = ManagedAtomic(configuration)
        self.pool = pool
        self.logger = logger
        self.workers = workers
        self.accessLog = accessLog
        self.observer = observer
        self.observes = observer != nil
        self.recordsRequests = accessLog != nil || observer != nil
    }
}
