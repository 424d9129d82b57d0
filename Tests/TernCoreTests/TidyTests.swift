import Foundation
import XCTest

/// One use of a banned pattern: 1-based line number, the pattern, and the line.
struct TidyViolation: Equatable, CustomStringConvertible {
    let line: Int
    let pattern: String
    let text: String

    var description: String { "\(line): \(pattern) — \(text)" }
}

/// DESIGN: TernCore and TernCluster are pure — no I/O, no clocks, no unseeded randomness, no
/// process-seeded hashing, no threads. This scanner keeps them that way; it is plain text
/// matching, so it is tested against fixture files (Tests/TidyFixtures) like any other code.
enum TidyScanner {
    static let forbidden = [
        // clocks
        "Date()", ".now", "DispatchTime", "clock_gettime", "ContinuousClock", "SuspendingClock", "Task.sleep",
        // unseeded randomness and identifiers
        "UUID()", ".random(", "randomElement()", "shuffled()", "SystemRandomNumberGenerator",
        // process-seeded hashing
        ".hashValue", "Hasher(",
        // I/O, threads and the platform
        "import NIO", "import Foundation", "import Dispatch", "import Glibc", "import Darwin", "DispatchQueue",
    ]

    /// The banned patterns used in `text`, in line order. Comments are not code: a line that
    /// starts with `//` is skipped, and so is the rest of a line after a `//` outside a string
    /// literal (so `"http://…"` does not end the code).
    static func violations(in text: String) -> [TidyViolation] {
        var found: [TidyViolation] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = codePart(of: Substring(line))
            for pattern in forbidden where code.contains(pattern) {
                found.append(TidyViolation(line: index + 1, pattern: pattern, text: line.trimmingCharacters(in: .whitespaces)))
            }
        }
        return found
    }

    /// The line up to its `//` comment, if any.
    static func codePart(of line: Substring) -> Substring {
        var inString = false
        var previous: Character? = nil
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character == "\"" && previous != "\\" {
                inString.toggle()
            } else if !inString && character == "/" && previous == "/" {
                return line[line.startIndex..<line.index(before: index)]
            }
            previous = character
            index = line.index(after: index)
        }
        return line
    }
}

final class TidyTests: XCTestCase {
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

    /// Fixtures live outside every target's directory, so SwiftPM neither compiles nor bundles them.
    static func fixture(_ name: String) throws -> String {
        let url = packageRoot.appendingPathComponent("Tests").appendingPathComponent("TidyFixtures").appendingPathComponent(name)
        return try String(contentsOf: url, encoding: .utf8)
    }

    func testPureTargetsUseNoClocksIONorUnseededRandomness() throws {
        let root = TidyTests.packageRoot
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path), "package root at \(root.path)")
        var violations: [String] = []
        var scanned = 0
        for target in ["TernCore", "TernCluster", "TernSimulation"] {
            let files = TidyTests.swiftFiles(under: root.appendingPathComponent("Sources").appendingPathComponent(target))
            XCTAssertFalse(files.isEmpty, "no sources found for \(target)")
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                scanned += 1
                for violation in TidyScanner.violations(in: text) {
                    violations.append("\(target)/\(file.lastPathComponent):\(violation)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(scanned, 18, "TernCore has 17 files, TernCluster at least 1")
        XCTAssertTrue(violations.isEmpty, "pure targets must stay pure:\n" + violations.joined(separator: "\n"))
    }

    func testScannerReportsEveryBannedPatternInTheDirtyFixture() throws {
        let text = try TidyTests.fixture("dirty.swift.txt")
        let violations = TidyScanner.violations(in: text)
        // Every banned pattern is caught where the fixture uses it…
        let reported = Set(violations.map(\.pattern))
        for pattern in TidyScanner.forbidden {
            XCTAssertTrue(reported.contains(pattern), "the dirty fixture's use of \(pattern) was not reported")
        }
        // …every code line of the fixture is caught, and no comment line is.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let flagged = Set(violations.map(\.line))
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("//") {
                XCTAssertFalse(flagged.contains(index + 1), "comment line \(index + 1) reported: \(trimmed)")
            } else {
                XCTAssertTrue(flagged.contains(index + 1), "code line \(index + 1) not reported: \(trimmed)")
            }
        }
        XCTAssertEqual(violations.first, TidyViolation(line: 4, pattern: "import Foundation", text: "import Foundation"))
    }

    func testScannerReportsNothingInTheCleanFixture() throws {
        let text = try TidyTests.fixture("clean.swift.txt")
        XCTAssertEqual(TidyScanner.violations(in: text), [])
        // The clean fixture does name banned patterns, in comments: skipping comments is what passes it.
        XCTAssertTrue(["Date()", "Task.sleep", "SystemRandomNumberGenerator", "randomElement()", "Hasher("].allSatisfy(text.contains))
    }

    func testCommentsEndAtDoubleSlashOutsideStrings() {
        XCTAssertEqual(TidyScanner.codePart(of: "let a = 1 // Date()"), "let a = 1 ")
        XCTAssertEqual(TidyScanner.codePart(of: "// Date()"), "")
        XCTAssertEqual(TidyScanner.codePart(of: #"let u = "http://x"; Date()"#), #"let u = "http://x"; Date()"#)
        XCTAssertEqual(TidyScanner.codePart(of: #"let q = "a\"//b"; f() // c"#), #"let q = "a\"//b"; f() "#)
        XCTAssertEqual(TidyScanner.violations(in: "x\n  let t = Date() // now\n").map(\.line), [2])
    }
}
