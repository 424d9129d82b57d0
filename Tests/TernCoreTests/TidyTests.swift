import Foundation
import XCTest

/// DESIGN: TernCore and TernCluster are pure — no I/O, no clocks, no unseeded randomness, no
/// process-seeded hashing. This test keeps them that way by scanning their sources.
final class TidyTests: XCTestCase {
    static let forbidden = [
        "Date()", ".now", "UUID()", ".random(", "import NIO", "import Foundation", ".hashValue", "Hasher(", "DispatchTime", "clock_gettime",
    ]

    static var packageRoot: URL {
        // …/Tests/TernCoreTests/TidyTests.swift → …
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func swiftFiles(under directory: URL) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        var files: [URL] = []
        for case let url as URL in enumerator where url.pathExtension == "swift" { files.append(url) }
        return files.sorted { $0.path < $1.path }
    }

    func testPureTargetsUseNoClocksIONorUnseededRandomness() throws {
        let root = TidyTests.packageRoot
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path), "package root at \(root.path)")
        var violations: [String] = []
        var scanned = 0
        for target in ["TernCore", "TernCluster"] {
            let files = TidyTests.swiftFiles(under: root.appendingPathComponent("Sources").appendingPathComponent(target))
            XCTAssertFalse(files.isEmpty, "no sources found for \(target)")
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                scanned += 1
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    for pattern in TidyTests.forbidden where line.contains(pattern) {
                        violations.append("\(target)/\(file.lastPathComponent):\(number + 1): \(pattern) — \(line.trimmingCharacters(in: .whitespaces))")
                    }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(scanned, 18, "TernCore has 17 files, TernCluster at least 1")
        XCTAssertTrue(violations.isEmpty, "pure targets must stay pure:\n" + violations.joined(separator: "\n"))
    }

    func testScannerFindsViolations() {
        // The scanner itself can fail: each pattern is found in a line that uses it.
        for pattern in TidyTests.forbidden {
            XCTAssertTrue("let x = \(pattern)".contains(pattern))
        }
        XCTAssertEqual(TidyTests.forbidden.count, 10)
    }
}
