import Foundation
import Logging
import TernCore

/// Structured logs: one JSON object per line on standard error
/// (`{"ts":"…","level":"info","label":"tern","msg":"…", …metadata}`).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var members: [(String, JSON)] = [
            ("ts", .string(Date().ISO8601Format(.iso8601.time(includingFractionalSeconds: true).year().month().day()))),
            ("level", .string(event.level.rawValue)),
            ("label", .string(label)),
            ("msg", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            members.append((key, .string("\(merged[key]!)")))
        }
        var line = JSON.object(members).serialized()
        line.append(0x0A)
        // One write(2) per line keeps lines whole when several threads log at once.
        line.withUnsafeBytes { _ = Foundation.write(2, $0.baseAddress, $0.count) }
    }
}
