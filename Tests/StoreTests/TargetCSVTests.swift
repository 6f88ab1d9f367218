import Config
import Foundation
import Store
import Testing

@Suite struct TargetCSVTests {
    @Test func mergesTargetsCreatingUpstreamsAndUpdatingWeights() throws {
        let base = try DeclarativeConfig.parse(Fixtures.kong).config
        let csv = """
            upstream,target,weight
            orders.upstream,127.0.0.1:9002,75
            orders.upstream,10.0.0.9:8080,
            billing.internal,_http._tcp.billing.consul:80,10
            """
        let merged = try TargetCSV.merge(csv, into: base)
        let orders = try #require(merged.upstreams.first { $0.name == "orders.upstream" })
        #expect(merged.targets(of: orders.id).map(\.target) == ["127.0.0.1:9001", "127.0.0.1:9002", "10.0.0.9:8080"])
        #expect(merged.targets(of: orders.id).map(\.weight) == [100, 75, 100])
        let billing = try #require(merged.upstreams.first { $0.name == "billing.internal" })
        #expect(merged.targets(of: billing.id).map(\.target) == ["_http._tcp.billing.consul:80"])
    }

    @Test func everyBadLineIsReportedAndNothingMerged() throws {
        let csv = """
            orders.upstream,127.0.0.1:9003,heavy
            orders.upstream
            bad name!,127.0.0.1:1,1
            orders.upstream,127.0.0.1:99999,1
            """
        do {
            _ = try TargetCSV.merge(csv, into: DeclarativeConfig(), source: "t.csv")
            Issue.record("invalid CSV merged")
        } catch {
            let paths = error.errors.map(\.path)
            #expect(paths.contains("t.csv:1"))
            #expect(paths.contains("t.csv:2"))
            #expect(paths.contains("t.csv:3"))
            #expect(paths.contains { $0.hasPrefix("t.csv:4") || $0.contains("targets") })
        }
    }
}
