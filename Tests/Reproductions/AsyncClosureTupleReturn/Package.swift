// swift-tools-version:6.0
// A standalone reproduction of a Swift 6.3 optimizer bug; not part of the switchyard package.
import PackageDescription

let package = Package(name: "repro", targets: [.executableTarget(name: "repro")])
