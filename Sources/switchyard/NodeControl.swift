import Admin
import Config
import Foundation
import Gateway
import Logging
import NIOCore

/// How `switchyard start` finds, answers and uses a node's control socket (takeover).
enum NodeControl {
    /// The control socket path `control_socket` names; `boundPort` fills in `auto` when proxy_listen asked
    /// for port 0. Nil when off, or auto with no port known.
    static func path(_ settings: NodeSettings, boundPort: Int?) -> String? {
        switch settings.controlSocket {
        case "off": return nil
        case "auto":
            let port = settings.proxyListen.first.map(\.port) ?? 0
            let chosen = port != 0 ? port : (boundPort ?? 0)
            guard chosen != 0 else { return nil }
            let directory = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            return "\(directory)/switchyard-\(chosen).sock"
        default: return settings.controlSocket
        }
    }

    /// Pairs the handed-over sockets with this node's `proxy_listen` by address and TLS; sockets this node
    /// does not listen on are closed here (the old node closes its copies, so those ports stop accepting).
    static func inherited(_ sockets: [(listener: ControlReply.Listener, fd: CInt)], settings: NodeSettings) -> [Int: CInt] {
        var left = sockets
        var map: [Int: CInt] = [:]
        for (index, listen) in settings.proxyListen.enumerated() {
            if let match = left.firstIndex(where: { $0.listener.host == listen.host && $0.listener.port == listen.port && $0.listener.ssl == listen.ssl }) {
                map[index] = left.remove(at: match).fd
            }
        }
        for socket in left { close(socket.fd) }
        return map
    }

    /// Why the proxy could not listen; for an address in use, which running node holds it when its control
    /// socket answers.
    static func listenFailure(_ error: any Error, settings: NodeSettings) -> String {
        let listen = settings.proxyListen.map(\.description).joined(separator: ", ")
        if let io = error as? IOError, io.errnoCode == EADDRINUSE {
            for address in settings.proxyListen where address.port != 0 {
                var probe = settings
                probe.proxyListen = [address]
                if let path = path(probe, boundPort: nil), let reply = try? TakeoverClient.status(path: path) {
                    return "cannot listen on \(address) (proxy_listen): port \(address.port) is in use by the switchyard node with PID \(reply.pid) (control socket \(path)); start with --takeover to replace it without dropping a connection, or stop it first"
                }
            }
            return "cannot listen on \(listen) (proxy_listen): address already in use by another process"
        }
        return "cannot listen on \(listen) (proxy_listen): \(error)"
    }

    /// Starts answering on the control socket, unless it is off.
    static func startServer(settings: NodeSettings, node: GatewayNode, admin: [AdminServer], logger: Logger,
                            handedOver: @escaping @Sendable (Int32) -> Void) throws(GatewayError) -> ControlServer? {
        guard let path = path(settings, boundPort: node.proxy.port) else { return nil }
        let handlers = ControlServer.Handlers(
            listeners: {
                node.proxy.listeningSockets.map { socket in
                    (ControlReply.Listener(host: socket.listener.host, port: socket.listener.port, ssl: socket.listener.tls != nil),
                     socket.fd)
                }
            },
            carry: { node.carried() },
            release: {
                await node.proxy.stopAccepting()
                for server in admin { await server.stop() }
                await node.notify?.stop()
            },
            handedOver: handedOver)
        return try ControlServer.start(path: path, handlers: handlers, logger: logger)
    }

    /// Starts `switchyard start … --takeover` with this process's binary path, arguments and environment (on
    /// SIGUSR2). The successor's output goes where this node's goes.
    static func spawnSuccessor(controlPath: String?, logger: Logger) {
        guard let controlPath else {
            logger.error("upgrade needs a control socket (control_socket is off, or auto with proxy_listen port 0); still serving")
            return
        }
        var arguments: [String] = []
        var skipNext = false
        for argument in CommandLine.arguments.dropFirst() {
            if skipNext {
                skipNext = false
                continue
            }
            if argument == "--takeover" || argument.hasPrefix("--takeover-from=") { continue }
            if argument == "--takeover-from" {
                skipNext = true
                continue
            }
            arguments.append(argument)
        }
        // The successor may have another control socket (node settings changed): it asks at this node's.
        arguments += ["--takeover-from", controlPath]
        let binary = executablePath(CommandLine.arguments[0])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        do {
            try process.run()
            logger.notice("upgrade: successor started", metadata: ["pid": "\(process.processIdentifier)", "binary": "\(binary)"])
        } catch {
            logger.error("upgrade: cannot start the successor; still serving", metadata: ["binary": "\(binary)", "error": "\(error)"])
        }
    }

    /// The file `argv0` names: a path as given (relative to the working directory), or a bare name looked up in
    /// `PATH` as the shell did; read at upgrade time, so a replaced binary is the one started.
    static func executablePath(_ argv0: String) -> String {
        if argv0.contains("/") {
            return argv0.hasPrefix("/") ? argv0 : FileManager.default.currentDirectoryPath + "/" + argv0
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(argv0)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return argv0
    }

    /// The settings (by their file names) whose values differ.
    static func changedSettings(_ old: NodeSettings, _ new: NodeSettings) -> [String] {
        guard old != new else { return [] }
        let before = Dictionary(Mirror(reflecting: old).children.compactMap { child in
            child.label.map { ($0, String(describing: child.value)) }
        }, uniquingKeysWith: { first, _ in first })
        return Mirror(reflecting: new).children.compactMap { child -> String? in
            guard let label = child.label, before[label] != String(describing: child.value) else { return nil }
            return label.reduce(into: "") { name, character in
                if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
            }
        }
    }

    /// Runs `body`, and when `enabled` tries again for up to 5 s while it fails: after a takeover the old node
    /// may still be letting go of a port.
    static func retrying<T>(enabled: Bool = true, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try await body()
            } catch {
                guard enabled, ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
