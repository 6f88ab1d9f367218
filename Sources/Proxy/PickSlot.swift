import Balancer

/// The current attempt's pick, stored in the exchange without boxing for the two pick types the
/// proxy knows (`Address`, `Balancer.Pick`), so selecting and reporting allocate nothing.
enum PickSlot {
    case none
    case address(Address)
    case balancer(Pick)
    case boxed(any PickedAddress)

    var address: Address? {
        switch self {
        case .none: return nil
        case .address(let address): return address
        case .balancer(let pick): return pick.address
        case .boxed(let pick): return pick.address
        }
    }
}

extension AddressSelector {
    /// `select`, with the result stored in a `PickSlot`.
    func selectSlot(_ request: SelectionContext, loopIndex: Int) -> PickSlot {
        guard let pick = select(request, loopIndex: loopIndex) else { return .none }
        // The casts below reinterpret a value as its own type: each is guarded by a metatype equality check.
        if Pick.self == Address.self { return .address(unsafeBitCast(pick, to: Address.self)) }
        if Pick.self == Balancer.Pick.self { return .balancer(unsafeBitCast(pick, to: Balancer.Pick.self)) }
        return .boxed(pick)
    }

    /// `report`, for a pick this selector stored with `selectSlot`.
    func reportSlot(_ slot: PickSlot, outcome: UpstreamOutcome) {
        switch slot {
        case .none:
            return
        case .address(let address):
            guard Pick.self == Address.self else { return }
            report(unsafeBitCast(address, to: Pick.self), outcome: outcome)
        case .balancer(let pick):
            guard Pick.self == Balancer.Pick.self else { return }
            report(unsafeBitCast(pick, to: Pick.self), outcome: outcome)
        case .boxed(let pick):
            guard let typed = pick as? Pick else { return }
            report(typed, outcome: outcome)
        }
    }
}
