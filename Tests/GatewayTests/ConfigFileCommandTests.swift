import Foundation
import Testing
import TestSupport

/// The binary reads configuration files itself (the Config module only parses text), so what an operator sees
/// for a file that cannot be read is checked here, on the commands that read one.
@Suite("configuration files the commands cannot read", .timeLimit(.minutes(1)))
struct ConfigFileCommandTests {
    @Test func aMissingDeclarativeFileIsNamedWithItsReason() throws {
        let imported = try DBCommandTests.run(["config", "import", "/nonexistent/kong.yaml", "--dry-run"])
        #expect(imported.status != nil && imported.status != 0)
        #expect(imported.stderr.contains("Error: /nonexistent/kong.yaml was not imported (nothing changed):\n"
                                         + "  cannot read /nonexistent/kong.yaml: "), "\(imported.stderr)")

        let started = try DBCommandTests.run(["start", "--config", "/nonexistent/kong.yaml", "--admin-listen", "off"])
        #expect(started.status != nil && started.status != 0)
        #expect(started.stderr.contains("Error: /nonexistent/kong.yaml is not a valid configuration:\n"
                                        + "  cannot read /nonexistent/kong.yaml: "), "\(started.stderr)")
    }

    @Test func aMissingSettingsFileIsNamedWithItsReason() throws {
        for arguments in [["config", "export", "--settings", "/nonexistent/settings.yaml"],
                          ["start", "--settings", "/nonexistent/settings.yaml"]] {
            let result = try DBCommandTests.run(arguments)
            #expect(result.status != nil && result.status != 0)
            #expect(result.stderr.contains("Error: invalid settings:\n"
                                           + "  /nonexistent/settings.yaml: cannot read settings file: "),
                    "\(arguments): \(result.stderr)")
        }
    }
}
