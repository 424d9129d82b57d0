import TernCore
import XCTest

@testable import TernSimulation

final class SimulationTests: XCTestCase {
    func testManySeedsKeepEveryAcknowledgedWriteConvergeAndDrainHints() {
        var failures: [String] = []
        var totals = SimulationReport.Counters()
        for seed in UInt64(1)...UInt64(400) {
            let report = Simulation.run(seed: seed, steps: 200)
            totals.writesAcknowledged += report.counters.writesAcknowledged
            totals.crashes += report.counters.crashes
            totals.hintsStored += report.counters.hintsStored
            totals.hintsRefused += report.counters.hintsRefused
            if !report.passed { failures.append(report.summary) }
        }
        print("acked \(totals.writesAcknowledged) crashes \(totals.crashes) hints \(totals.hintsStored) refused \(totals.hintsRefused)")
        XCTAssertEqual(failures.count, 0, failures.prefix(5).joined(separator: "\n"))
    }
}
