import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `Date` response header (RFC 9110 §6.6.1) in IMF-fixdate form, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
enum HTTPDate {
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats seconds since 1970 (UTC). Dates before 1970 do not occur: the argument is the clock.
    static func imfFixdate(epochSeconds: Int64) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondOfDay = Int(epochSeconds - days * 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        return "\(weekday), \(twoDigits(day)) \(months[month - 1]) \(year) "
            + "\(twoDigits(secondOfDay / 3600)):\(twoDigits(secondOfDay / 60 % 60)):\(twoDigits(secondOfDay % 60)) GMT"
    }

    /// The proleptic Gregorian date of a day count, computed in 400-year eras (146,097 days each)
    /// whose years start on March 1st, so that the leap day is the last day of its year.
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468  // days from 0000-03-01 to 1970-01-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}

/// The current `Date` header value, formatted at most once per second. One cache belongs to each
/// event loop (it is only touched from that loop's thread), so requests share the string and no
/// lock is taken.
final class HTTPDateCache {
    private var second: Int64 = .min
    private var text = ""

    func current() -> String {
        var spec = timespec()
        // The coarse clock is read without a system call and is accurate to a few milliseconds,
        // which is far finer than the header's one-second resolution.
        #if os(Linux)
        clock_gettime(CLOCK_REALTIME_COARSE, &spec)
        #else
        clock_gettime(CLOCK_REALTIME, &spec)
        #endif
        let now = Int64(spec.tv_sec)
        if now != second {
            second = now
            text = HTTPDate.imfFixdate(epochSeconds: now)
        }
        return text
    }
}

/// One `HTTPDateCache` per event loop of a group, reachable from any handler on that loop.
struct HTTPDateCaches: Sendable {
    private let boxes: [ObjectIdentifier: NIOLoopBoundBox<HTTPDateCache>]

    init(group: any EventLoopGroup) {
        var boxes: [ObjectIdentifier: NIOLoopBoundBox<HTTPDateCache>] = [:]
        for loop in group.makeIterator() {
            boxes[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(HTTPDateCache(), as: HTTPDateCache.self, eventLoop: loop)
        }
        self.boxes = boxes
    }

    /// The cache of `loop`; a private one for a loop outside the group (never expected).
    func cache(for loop: any EventLoop) -> HTTPDateCache {
        boxes[ObjectIdentifier(loop)]?.value ?? HTTPDateCache()
    }
}
