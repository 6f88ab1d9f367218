import Foundation

/// Runs the shell scripts in the repository's `testdns/` directory.
struct TestDNSScripts: Sendable {
    /// The `testdns/` directory holding `start`, `stop`, `register`, ...
    let directory: URL

    /// Finds `testdns/` by walking up from this source file (through symlinks too), so the tests
    /// work from any working directory. `SWITCHYARD_TESTDNS` overrides the search.
    static func locate() throws -> TestDNSScripts {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["SWITCHYARD_TESTDNS"], !override.isEmpty {
            let url = URL(fileURLWithPath: override)
            guard fileManager.isExecutableFile(atPath: url.appendingPathComponent("start").path) else {
                throw TestDNSError("SWITCHYARD_TESTDNS=\(override) holds no executable start script")
            }
            return TestDNSScripts(directory: url)
        }
        let source = URL(fileURLWithPath: #filePath)
        for file in [source, source.resolvingSymlinksInPath()] {
            var folder = file.deletingLastPathComponent()
            while folder.path != "/" && !folder.path.isEmpty {
                let candidate = folder.appendingPathComponent("testdns")
                if fileManager.isExecutableFile(atPath: candidate.appendingPathComponent("start").path) {
                    return TestDNSScripts(directory: candidate)
                }
                folder = folder.deletingLastPathComponent()
            }
        }
        throw TestDNSError("cannot find testdns/start above \(source.path); set SWITCHYARD_TESTDNS")
    }

    /// Runs `script` and returns its standard output; throws with its standard error on failure.
    @discardableResult
    func run(_ script: String, _ arguments: [String], timeout: Duration = .seconds(60)) throws -> String {
        let path = directory.appendingPathComponent(script).path
        let result = try ChildProcess.run(path, arguments, timeout: timeout)
        guard result.status == 0 else {
            let commandLine = (["testdns/\(script)"] + arguments).joined(separator: " ")
            throw TestDNSError("\(commandLine) failed", exitStatus: result.status, stderr: result.stderr)
        }
        return result.stdout
    }
}
