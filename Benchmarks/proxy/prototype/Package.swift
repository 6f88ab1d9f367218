// swift-tools-version:6.0
// A measuring prototype, not part of Switchyard: see README.md. No dependencies: Glibc, plus a
// module map over the Linux headers Glibc's module leaves out (epoll, signalfd).
import PackageDescription

let package = Package(
    name: "epoll-relay",
    targets: [
        .systemLibrary(name: "CLinuxShim", path: "Sources/CLinuxShim"),
        .executableTarget(name: "epoll-relay", dependencies: ["CLinuxShim"], path: "Sources/epoll-relay"),
    ],
    swiftLanguageModes: [.v6]
)
