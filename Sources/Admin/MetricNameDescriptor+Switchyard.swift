import Prometheus

extension MetricNameDescriptor {
    /// A `switchyard_`-prefixed metric name with its HELP text: every series of the node is declared this one way.
    public static func switchyard(_ name: String, unit: String? = nil, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "switchyard", metricName: name, unitName: unit, helpText: help)
    }
}
