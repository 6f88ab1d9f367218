import NIOCore

/// Waiting for an upstream connection when every address is at `maxConnectionsPerAddress`: the request
/// queues on one address's pool for up to the service's connect timeout (HAProxy's `timeout queue`
/// defaults to its connect timeout the same way), then gets a 503.
extension ProxyConnectionHandler {
    /// Makes the addresses passed over at their connection limit pickable again.
    func forgetPassedOver() {
        guard !exchange.passedOver.isEmpty else { return }
        let passed = exchange.passedOver
        exchange.passedOver.removeAll()
        exchange.tried.removeAll { passed.contains($0) }
    }

    func waitForConnection(_ pool: UpstreamPool, service: ProxyService) {
        guard pool.enqueue(self, serial: exchange.serial) else {
            report(.released)
            logger.info("upstream connection queue full",
                        metadata: ["address": "\(pool.address)", "request_id": "\(exchange.requestIdText)"])
            return fail(status: 503, message: "upstream connection limit reached")
        }
        // Like connecting: the body is held (reading pauses past `maxPendingBytes`) until a connection is bound.
        guard enter(.queuedAtLimit) else {
            pool.removeWaiter(self)
            return
        }
        exchange.waitingFor = pool
        let serial = exchange.serial
        exchange.queueTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: service.connectTimeout) { [self] in
            self.queueTimedOut(serial: serial)
        }
    }

    /// Called through the event loop by the pool, which took this waiter off its queue and reserved `grant` for
    /// it. A request that stopped waiting in the meantime gives the capacity back.
    func poolReady(_ pool: UpstreamPool, grant: UpstreamPool.Grant, serial: Int) {
        guard state.isOpen, serial == exchange.serial, state.stage == .queued, exchange.waitingFor === pool,
              let service = exchange.service else {
            return pool.giveBack(grant, now: loop.now)
        }
        switch grant {
        case .connection(let connection) where connection.isOpen:
            stopWaiting(dequeued: true)
            bind(connection)
            flushUpstream()
            resumeReadingIfPossible()
        case .connection:
            // It closed before this ran; its slot came free with it. Try again from the head of the queue.
            if let connection = pool.take() {
                stopWaiting(dequeued: true)
                bind(connection)
                flushUpstream()
                resumeReadingIfPossible()
            } else if !pool.isAtConnectionLimit {
                stopWaiting(dequeued: true)
                connect(pool, service: service)
            } else {
                pool.requeueFirst(self, serial: serial)
            }
        case .slot:
            stopWaiting(dequeued: true)
            connect(pool, service: service, granted: true)
        }
    }

    /// Stops waiting; `dequeued` when the pool already took this request off its queue.
    func stopWaiting(dequeued: Bool = false) {
        guard let pool = exchange.waitingFor else { return }
        exchange.waitingFor = nil
        exchange.queueTimeout?.cancel()
        exchange.queueTimeout = nil
        if !dequeued { pool.removeWaiter(self) }
    }

    private func queueTimedOut(serial: Int) {
        guard state.isOpen, serial == exchange.serial, exchange.waitingFor != nil else { return }
        exchange.queueTimeout = nil
        stopWaiting()
        report(.released)
        logger.info(
            "upstream connection limit reached",
            metadata: ["service": "\(exchange.service?.name ?? "")", "request_id": "\(exchange.requestIdText)"]
        )
        fail(status: 503, message: "upstream connection limit reached")
        flushClient()
    }
}
