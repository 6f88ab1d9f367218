import Balancer
import DNSWire
import Proxy
import Testing

@Suite struct RoundRobinSelectorTests {
    let addresses = (1...3).map { Address(ip: .v4(0x7F00_0001), port: UInt16(8000 + $0)) }

    @Test func cyclesThroughEveryAddressOnOneLoop() {
        let selector = RoundRobinSelector(addresses: addresses, loops: 2)
        let picks = (0..<6).compactMap { _ in selector.select(SelectionContext(clientIP: nil, hashKey: nil), loopIndex: 0)?.address }
        #expect(Set(picks.prefix(3)) == Set(addresses))
        #expect(Array(picks.prefix(3)) == Array(picks.suffix(3)))
    }

    @Test func aRetryAvoidsAddressesAlreadyTried() {
        let selector = RoundRobinSelector(addresses: addresses, loops: 1)
        for _ in 0..<6 {
            let pick = selector.select(
                SelectionContext(clientIP: nil, hashKey: nil, tried: [addresses[0], addresses[2]]), loopIndex: 0
            )
            #expect(pick?.address == addresses[1])
        }
        // With every address tried, it still answers (a retry on the same address beats a 503).
        let all = selector.select(SelectionContext(clientIP: nil, hashKey: nil, tried: addresses), loopIndex: 0)
        #expect(all != nil)
    }

    @Test func noAddressesMeansNoPick() {
        let selector = RoundRobinSelector(addresses: [])
        #expect(selector.select(SelectionContext(clientIP: nil, hashKey: nil), loopIndex: 0)?.address == nil)
    }
}
