import TernCore
import XCTest

@testable import TernCluster

/// Single-decree Paxos as events in, actions out: the ballot order, the acceptor's rules and
/// durability, the proposer's rounds, retries and failures.
final class PaxosTests: XCTestCase {
    let members: [NodeID] = ["n1", "n2", "n3"]
    let mine: [UInt8] = Array("mine".utf8)
    let theirs: [UInt8] = Array("theirs".utf8)

    func ballot(_ timestamp: UInt64, _ node: NodeID = "n1") -> Ballot { Ballot(timestamp: timestamp, node: node) }

    func proposer(_ settings: PaxosProposer.Settings = .init(), seed: UInt64 = 1) -> PaxosProposer {
        PaxosProposer(node: "n1", members: members, settings: settings, seed: seed)
    }

    /// A proposer that sent `prepare` at ballot (100, n1) at time 0.
    func preparing(_ settings: PaxosProposer.Settings = .init(), seed: UInt64 = 1) -> PaxosProposer {
        var p = proposer(settings, seed: seed)
        XCTAssertEqual(p.handle(.propose(mine), now: 0), [.stampBallot(after: 0)])
        XCTAssertEqual(p.handle(.ballotStamped(100), now: 0), members.map { .send(to: $0, .prepare(ballot(100))) })
        return p
    }

    func sends(_ actions: [PaxosProposer.Action]) -> [PaxosMessage] {
        actions.compactMap { if case .send(_, let message) = $0 { return message } else { return nil } }
    }

    // MARK: - Ballot

    func testBallotsOrderByTimestampThenByNodeIdBytes() {
        XCTAssertLessThan(ballot(5, "n9"), ballot(6, "n1"))
        XCTAssertLessThan(ballot(5, "n1"), ballot(5, "n2"))
        XCTAssertLessThan(ballot(5, "Z"), ballot(5, "a"), "UTF-8 byte order: uppercase before lowercase")
        XCTAssertEqual([ballot(7, "b"), ballot(7, "a"), ballot(3, "z")].sorted(), [ballot(3, "z"), ballot(7, "a"), ballot(7, "b")])
    }

    func testNextBallotMustBeAboveEveryBallotSeen() {
        XCTAssertEqual(Ballot.next(stamp: 10, node: "n1", above: nil), ballot(10))
        XCTAssertEqual(Ballot.next(stamp: 10, node: "n2", above: ballot(10, "n1")), ballot(10, "n2"))
        XCTAssertNil(Ballot.next(stamp: 10, node: "n1", above: ballot(10, "n2")))
        XCTAssertNil(Ballot.next(stamp: 9, node: "n9", above: ballot(10, "n1")))
    }

    // MARK: - Acceptor

    func testAcceptorPromisesFirstPrepareOnlyAfterPersistingIt() {
        var a = PaxosAcceptor()
        let expected = PaxosAcceptor.State(promised: ballot(5))
        XCTAssertEqual(a.handle(.prepare(ballot(5))), .persistThenReply(expected, reply: .promise(ballot(5), accepted: nil)))
        XCTAssertEqual(a.state, expected)
    }

    func testAcceptorRefusesLowerPrepareWithItsPromisedBallotAndPersistsNothing() {
        var a = PaxosAcceptor(restoring: .init(promised: ballot(5, "n2")))
        XCTAssertEqual(a.handle(.prepare(ballot(5, "n1"))), .reply(.nack(ballot(5, "n1"), promised: ballot(5, "n2"))))
        XCTAssertEqual(a.handle(.accept(ballot(4), value: mine)), .reply(.nack(ballot(4), promised: ballot(5, "n2"))))
        XCTAssertEqual(a.state, .init(promised: ballot(5, "n2")), "a refusal changes nothing")
    }

    func testDuplicatePrepareIsPromisedAgainAfterPersistingAgain() {
        var a = PaxosAcceptor()
        let first = a.handle(.prepare(ballot(5)))
        XCTAssertEqual(a.handle(.prepare(ballot(5))), first, "the first persist may still be in flight: never reply before it")
    }

    func testPromiseReportsTheValueAcceptedLast() {
        var a = PaxosAcceptor()
        _ = a.handle(.accept(ballot(5), value: theirs))
        let accepted = PaxosAcceptor.Accepted(ballot: ballot(5), value: theirs)
        XCTAssertEqual(a.handle(.prepare(ballot(9))),
                       .persistThenReply(.init(promised: ballot(9), accepted: accepted), reply: .promise(ballot(9), accepted: accepted)))
    }

    func testAcceptorAcceptsAtOrAbovePromiseAndPersistsTheValueBeforeAnswering() {
        var a = PaxosAcceptor(restoring: .init(promised: ballot(5)))
        let atPromise = PaxosAcceptor.State(promised: ballot(5), accepted: .init(ballot: ballot(5), value: mine))
        XCTAssertEqual(a.handle(.accept(ballot(5), value: mine)), .persistThenReply(atPromise, reply: .accepted(ballot(5))))
        let above = PaxosAcceptor.State(promised: ballot(8), accepted: .init(ballot: ballot(8), value: theirs))
        XCTAssertEqual(a.handle(.accept(ballot(8), value: theirs)), .persistThenReply(above, reply: .accepted(ballot(8))),
                       "phase 2 at a higher ballot without a prepare is safe and accepted")
    }

    func testAcceptorRefusesASecondValueAtTheBallotItAccepted() {
        var a = PaxosAcceptor()
        _ = a.handle(.accept(ballot(5), value: mine))
        XCTAssertEqual(a.handle(.accept(ballot(5), value: theirs)), .reply(.nack(ballot(5), promised: ballot(5))))
        XCTAssertEqual(a.state.accepted?.value, mine)
    }

    func testRestoredAcceptorKeepsThePromiseItPersistedBeforeTheRestart() {
        var a = PaxosAcceptor()
        guard case .persistThenReply(let durable, _) = a.handle(.prepare(ballot(9, "n2"))) else { return XCTFail() }
        // The process dies after the persist; a new one restores from the bytes on disk.
        var restarted = PaxosAcceptor(restoring: PaxosAcceptor.State(decoding: durable.encoded())!)
        XCTAssertEqual(restarted.handle(.prepare(ballot(8, "n3"))), .reply(.nack(ballot(8, "n3"), promised: ballot(9, "n2"))))
        XCTAssertEqual(restarted.handle(.accept(ballot(8, "n3"), value: theirs)), .reply(.nack(ballot(8, "n3"), promised: ballot(9, "n2"))))
    }

    func testAcceptorIgnoresMessagesMeantForProposers() {
        var a = PaxosAcceptor()
        XCTAssertEqual(a.handle(.accepted(ballot(5))), .none)
        XCTAssertEqual(a.handle(.decided(value: mine)), .none)
        XCTAssertEqual(a.state, .init())
    }

    func testAcceptorStateRoundTripsThroughItsDurableEncoding() {
        let states: [PaxosAcceptor.State] = [
            .init(),
            .init(promised: ballot(.max, "n1")),
            .init(promised: ballot(9, "nœud-2"), accepted: .init(ballot: ballot(7, "n3"), value: [])),
            .init(promised: ballot(9, "n2"), accepted: .init(ballot: ballot(9, "n2"), value: Array(0...255))),
        ]
        for state in states {
            XCTAssertEqual(PaxosAcceptor.State(decoding: state.encoded()), state)
        }
    }

    func testTornOrCorruptAcceptorStateDoesNotDecode() {
        let bytes = PaxosAcceptor.State(promised: ballot(9, "n2"), accepted: .init(ballot: ballot(9, "n2"), value: mine)).encoded()
        for length in 0..<bytes.count {
            XCTAssertNil(PaxosAcceptor.State(decoding: Array(bytes.prefix(length))), "truncated to \(length)")
        }
        XCTAssertNil(PaxosAcceptor.State(decoding: bytes + [0]), "trailing bytes")
        XCTAssertNil(PaxosAcceptor.State(decoding: [2, 0]), "unknown format version")
        XCTAssertNil(PaxosAcceptor.State(decoding: [1, 4]), "unknown flag")
    }

    // MARK: - Proposer: the happy path

    func testProposerWithNoAcceptedValueProposesItsOwnAndDecidesOnAMajorityOfAcceptances() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n3", .promise(ballot(100), accepted: nil)), now: 1),
                       members.map { .send(to: $0, .accept(ballot(100), value: mine)) })
        XCTAssertEqual(p.handle(.receive(from: "n3", .accepted(ballot(100))), now: 2), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .accepted(ballot(100))), now: 2), [
            .send(to: "n2", .decided(value: mine)), .send(to: "n3", .decided(value: mine)), .finished(.decided(value: mine)),
        ])
        XCTAssertEqual(p.outcome, .decided(value: mine))
        XCTAssertEqual(p.handle(.receive(from: "n1", .accepted(ballot(100))), now: 3), [], "a late acceptance changes nothing")
        XCTAssertEqual(p.handle(.tick, now: 10_000), [], "a finished proposal has no deadline")
    }

    func testProposerAdoptsTheValueAcceptedAtTheHighestBallotAmongThePromises() {
        var p = preparing()
        let older = PaxosAcceptor.Accepted(ballot: ballot(40, "n3"), value: Array("older".utf8))
        let newer = PaxosAcceptor.Accepted(ballot: ballot(60, "n2"), value: theirs)
        XCTAssertEqual(p.handle(.receive(from: "n2", .promise(ballot(100), accepted: newer)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n3", .promise(ballot(100), accepted: older)), now: 1),
                       members.map { .send(to: $0, .accept(ballot(100), value: theirs)) })
    }

    // MARK: - Proposer: duplicates, stale and foreign messages

    func testDuplicatedPromisesAndAcceptancesCountOnce() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "n2", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .promise(ballot(100), accepted: nil)), now: 1), [], "one member is not a majority")
        XCTAssertEqual(sends(p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1)).count, 3)
        XCTAssertEqual(p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1), [], "a duplicate promise after phase 1")
        XCTAssertEqual(p.handle(.receive(from: "n2", .accepted(ballot(100))), now: 2), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .accepted(ballot(100))), now: 2), [])
        XCTAssertNil(p.outcome)
    }

    func testRepliesToAnOlderBallotAreIgnored() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "n2", .promise(ballot(99), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n3", .promise(ballot(99), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .accepted(ballot(99))), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .nack(ballot(99), promised: ballot(100, "n0"))), now: 1), [],
                       "a refusal of an older ballot does not end the current round")
        XCTAssertEqual(p.highestSeen, ballot(100, "n0"), "but it teaches the higher ballot")
        XCTAssertEqual(p.handle(.receive(from: "n2", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(sends(p.handle(.receive(from: "n3", .promise(ballot(100), accepted: nil)), now: 1)).count, 3)
    }

    func testMessagesFromNonMembersAreIgnored() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "x", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "y", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "x", .decided(value: theirs)), now: 1), [])
        XCTAssertNil(p.outcome)
    }

    func testAStampAnsweredAfterItsAttemptEndedIsIgnored() {
        var p = preparing()
        XCTAssertEqual(p.handle(.ballotStamped(500), now: 1), [], "no stamp was asked for")
    }

    func testDecidedFromAnotherProposerEndsTheProposalWithThatValue() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "n2", .decided(value: theirs)), now: 1), [.finished(.decided(value: theirs))])
        XCTAssertEqual(p.handle(.receive(from: "n3", .decided(value: theirs)), now: 1), [])
    }

    // MARK: - Proposer: refusals, retries, failure

    func testRefusalEndsTheRoundAndTheRetryBallotIsAboveTheRefusingOne() {
        var p = preparing()
        XCTAssertEqual(p.handle(.receive(from: "n2", .nack(ballot(100), promised: ballot(500, "n3"))), now: 1), [])
        let wake = p.nextDeadlineMillis!
        XCTAssertGreaterThan(wake, 1, "a backoff before the next attempt")
        XCTAssertEqual(p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1), [])
        XCTAssertEqual(p.handle(.receive(from: "n3", .promise(ballot(100), accepted: nil)), now: 1), [],
                       "promises of the abandoned round no longer count")
        XCTAssertEqual(p.handle(.tick, now: wake - 1), [])
        XCTAssertEqual(p.handle(.tick, now: wake), [.stampBallot(after: 500)])
        XCTAssertEqual(p.handle(.ballotStamped(400), now: wake), [.stampBallot(after: 500)], "a stamp below the refusing ballot is asked again")
        XCTAssertEqual(p.handle(.ballotStamped(501), now: wake), members.map { .send(to: $0, .prepare(ballot(501))) })
    }

    func testRefusalInPhaseTwoAlsoRetries() {
        var p = preparing()
        _ = p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1)
        _ = p.handle(.receive(from: "n2", .promise(ballot(100), accepted: nil)), now: 1)
        XCTAssertEqual(p.handle(.receive(from: "n3", .nack(ballot(100), promised: ballot(200, "n3"))), now: 2), [])
        XCTAssertEqual(p.handle(.receive(from: "n1", .accepted(ballot(100))), now: 2), [])
        XCTAssertEqual(p.handle(.receive(from: "n2", .accepted(ballot(100))), now: 2), [], "acceptances of the abandoned round do not decide")
        XCTAssertEqual(p.handle(.tick, now: p.nextDeadlineMillis!), [.stampBallot(after: 200)])
    }

    /// Ticks every 10 ms of virtual time, answering every stamp, until the proposal finishes.
    func runSilently(_ p: inout PaxosProposer, from start: UInt64, limit: UInt64 = 60_000) -> (PaxosProposer.Outcome?, UInt64, Int) {
        var now = start
        var rounds = 0
        var stamp: UInt64 = 1_000
        while now < limit {
            for action in p.handle(.tick, now: now) {
                switch action {
                case .stampBallot:
                    stamp += 1
                    rounds += sends(p.handle(.ballotStamped(stamp), now: now)).isEmpty ? 0 : 1
                case .finished(let outcome):
                    return (outcome, now, rounds)
                case .send:
                    break
                }
            }
            now += 10
        }
        return (nil, now, rounds)
    }

    func testWithoutAnyAnswerTheProposalFailsAfterItsLastAttemptWithinTheDeadline() {
        let settings = PaxosProposer.Settings(roundTimeoutMillis: 100, attemptsMax: 3, deadlineMillis: 5_000)
        var p = preparing(settings)
        let (outcome, at, rounds) = runSilently(&p, from: 0)
        XCTAssertEqual(outcome, .failed(.noMajority(attempts: 3)))
        XCTAssertEqual(rounds, 2, "two more rounds after the first")
        XCTAssertLessThanOrEqual(at, 3 * 100 + 2 * settings.backoffMaxMillis + 10, "rounds plus backoffs, no more")
    }

    func testTheOverallDeadlineEndsAProposalThatKeepsRetrying() {
        let settings = PaxosProposer.Settings(roundTimeoutMillis: 100, attemptsMax: 100, deadlineMillis: 1_000)
        var p = preparing(settings)
        let (outcome, at, _) = runSilently(&p, from: 0)
        XCTAssertEqual(outcome, .failed(.deadlineExceeded))
        XCTAssertEqual(at, 1_000)
    }

    func testTheDeadlineAlsoBoundsAWaitForABallotStamp() {
        var p = proposer(.init(deadlineMillis: 700))
        _ = p.handle(.propose(mine), now: 0)
        XCTAssertEqual(p.nextDeadlineMillis, 700)
        XCTAssertEqual(p.handle(.tick, now: 699), [])
        XCTAssertEqual(p.handle(.tick, now: 700), [.finished(.failed(.deadlineExceeded))])
    }

    func testUnreachableMembersEndTheRoundAsSoonAsAMajorityIsImpossible() {
        var p = preparing(.init(attemptsMax: 1))
        XCTAssertEqual(p.handle(.unreachable("n2"), now: 1), [], "two of three can still answer")
        XCTAssertEqual(p.handle(.unreachable("n2"), now: 1), [], "the same member twice counts once")
        XCTAssertEqual(p.handle(.unreachable("n3"), now: 1), [.finished(.failed(.noMajority(attempts: 1)))])
    }

    func testAnUnreachableMemberThatAlreadyAnsweredStillCounts() {
        var p = preparing(.init(attemptsMax: 1))
        _ = p.handle(.receive(from: "n2", .promise(ballot(100), accepted: nil)), now: 1)
        XCTAssertEqual(p.handle(.unreachable("n2"), now: 1), [])
        XCTAssertEqual(p.handle(.unreachable("n3"), now: 1), [], "n1 and n2 still make a majority")
        XCTAssertEqual(sends(p.handle(.receive(from: "n1", .promise(ballot(100), accepted: nil)), now: 1)).count, 3)
    }

    func testBackoffIsDrawnFromTheInstanceSeed() {
        func backoff(seed: UInt64) -> UInt64 {
            var p = preparing(seed: seed)
            _ = p.handle(.receive(from: "n2", .nack(ballot(100), promised: ballot(500, "n3"))), now: 1)
            return p.nextDeadlineMillis!
        }
        XCTAssertEqual(backoff(seed: 7), backoff(seed: 7), "one seed, one schedule")
        let draws = Set((1...20).map { backoff(seed: $0) })
        XCTAssertGreaterThan(draws.count, 3, "different seeds draw different backoffs, so duelling proposers drift apart")
        XCTAssertTrue(draws.allSatisfy { $0 >= 2 && $0 <= 1 + 10 }, "the first backoff is 1...base ms: \(draws.sorted())")
    }

    func testSettingsRefuseBoundsThatCannotWork() {
        XCTAssertThrowsError(try PaxosProposer.Settings(attemptsMax: 0).validate())
        XCTAssertThrowsError(try PaxosProposer.Settings(roundTimeoutMillis: 3_000, deadlineMillis: 2_000).validate())
        XCTAssertThrowsError(try PaxosProposer.Settings(backoffBaseMillis: 50, backoffMaxMillis: 10).validate())
        XCTAssertNoThrow(try PaxosProposer.Settings().validate())
    }

    // MARK: - Catalog entries

    func testCatalogEntriesRoundTripAndGarbageDoesNotDecode() {
        let entry = CatalogEntry(origin: "n2", proposal: 0xDEAD_BEEF_0000_0001, change: Array("CreateTable t".utf8))
        XCTAssertEqual(CatalogEntry(decoding: entry.encoded()), entry)
        XCTAssertEqual(CatalogEntry(decoding: CatalogEntry(origin: "", proposal: 0, change: []).encoded()), CatalogEntry(origin: "", proposal: 0, change: []))
        XCTAssertNil(CatalogEntry(decoding: []))
        XCTAssertNil(CatalogEntry(decoding: Array(entry.encoded().prefix(12))), "origin and proposal cut short")
        XCTAssertNil(CatalogEntry(decoding: [9] + entry.encoded().dropFirst()), "unknown format")
    }
}
