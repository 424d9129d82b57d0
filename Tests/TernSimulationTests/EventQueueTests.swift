import XCTest

@testable import TernSimulation

final class EventQueueTests: XCTestCase {
    func testPopsInTimeOrderAndKeepsSchedulingOrderForEqualTimes() {
        var queue = EventQueue<String>()
        var generator: UInt64 = 12_345
        var expected: [(UInt64, String)] = []
        for index in 0..<500 {
            generator = generator &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let time = (generator >> 33) % 50
            queue.schedule("e\(index)", at: time)
            expected.append((time, "e\(index)"))
        }
        // A stable sort by time is exactly the order the simulation must replay.
        let order = expected.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        var popped: [String] = []
        while let (_, payload) = queue.pop() { popped.append(payload) }
        XCTAssertEqual(popped, order)
        XCTAssertNil(queue.nextTime)
    }
}
