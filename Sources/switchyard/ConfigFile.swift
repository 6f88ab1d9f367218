import Config
import Foundation

/// Reads the files the Config module parses: Config is pure, so files are read here, at the edge. A file that
/// cannot be read is a `ConfigError` with code `.unreadable`, reported like any other configuration issue.
enum ConfigFile {
    /// The text of the file at `path`; `unreadable` words the issue from the file system's reason.
    static func read(_ path: String, unreadable: (String) -> ConfigIssue) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(code: .unreadable, issues: [unreadable(error.localizedDescription)])
        }
    }

    /// A Kong declarative file (YAML or JSON), read and parsed; issues name the file.
    static func declarative(_ path: String, options: ValidationOptions = .init()) throws(ConfigError) -> DeclarativeConfig.Loaded {
        let text = try read(path) { .error(.invalid, "", "cannot read \(path): \($0)") }
        return try DeclarativeConfig.parse(text, fileName: path, options: options)
    }

    /// Node settings from the settings file at `path` (when given), the environment and the command line.
    static func settings(_ path: String?, environment: [String: String],
                         commandLine: SettingsLayer = SettingsLayer(source: "command line")) throws(ConfigError) -> NodeSettings {
        var text: String?
        if let path {
            text = try read(path) { .error(.invalid, path, "cannot read settings file: \($0)") }
        }
        return try NodeSettings.load(fileText: text, fileName: path ?? "settings", environment: environment,
                                     commandLine: commandLine)
    }
}
