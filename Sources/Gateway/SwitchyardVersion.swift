/// The release this binary is: printed by `switchyard --version`, shown by the dashboard and `/status`, so an
/// operator in the middle of an upgrade sees which nodes run which binary.
public enum SwitchyardVersion {
    public static let current = "0.9.0"
}
