import Foundation
import Logging
import TernAPI
import TernCore

#if canImport(Glibc)
import Glibc
#endif

/// Where a node's id comes from, and the rule that keeps ids unique.
///
/// A node id is the actor in every vector clock the node writes, so two nodes must never share
/// one, and one data directory must never be served under two ids: a wiped node that came back
/// as "n1" would stamp dots that older versions of "n1" already used, and its new writes could
/// look older than stale ones. Hence:
/// - a fresh data directory gets a generated id (`n-` and 12 random hex digits), unless
///   `--node-id` names one, and keeps it in `<data-dir>/node-id`;
/// - a data directory with a stored id refuses to start under a different `--node-id`;
/// - a data directory written before ids were stored (RocksDB files but no `node-id`) adopts
///   `--node-id`, or "n1", the default of that time, so its versions keep their node;
/// - `--in-memory` generates an id on every start unless `--node-id` is given.
///
/// The id is a small file rather than a key in RocksDB so that it is checked before the database
/// is opened, and so that an operator can read it. It is written before RocksDB creates anything,
/// atomically (temporary file, fsync, link, fsync of the directory), so a crash never leaves
/// data without its id.
enum NodeIdentity {
    static let fileName = "node-id"
    /// The id every node had before ids were generated.
    static let legacyDefault = "n1"
    static let maxLength = 64

    /// Ids are short, printable and safe in file names, logs and URLs.
    static func validate(_ id: String) throws {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
        guard !id.isEmpty, id.utf8.count <= maxLength, allowed else {
            throw ConfigurationError("node id must be 1 to \(maxLength) characters from A-Z, a-z, 0-9, '.', '_' and '-', got '\(id)'")
        }
    }

    /// A new id: 48 random bits, so a collision among even a thousand nodes has odds below 10⁻⁸.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() & 0xFFFF_FFFF_FFFF
        let hex = String(bits, radix: 16)
        return "n-" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// The id for `configuration`, reading, adopting or creating `<data-dir>/node-id`.
    static func resolve(_ configuration: NodeConfiguration, logger: Logger) throws -> String {
        if let requested = configuration.nodeId { try validate(requested) }
        if configuration.inMemory { return configuration.nodeId ?? generate() }
        let directory = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(fileName)
        if let stored = try read(path) {
            if let requested = configuration.nodeId, requested != stored {
                throw ConfigurationError(
                    "data directory \(directory) belongs to node '\(stored)' (see \(path)); refusing to start as --node-id '\(requested)'. "
                        + "Start it without --node-id or with --node-id \(stored), or give this node another --data-dir."
                )
            }
            return stored
        }
        let id: String
        if hasLegacyData(directory) {
            id = configuration.nodeId ?? legacyDefault
            logger.notice("data directory has no node id yet; adopting one", metadata: ["node": "\(id)", "file": "\(path)"])
        } else {
            id = configuration.nodeId ?? generate()
            logger.info("new data directory; node id stored", metadata: ["node": "\(id)", "file": "\(path)"])
        }
        // A concurrent start on the same directory may have stored its id first: that one counts.
        return try create(path, id: id) ? id : resolve(configuration, logger: logger)
    }

    /// Data written by a version of Tern that did not store node ids.
    static func hasLegacyData(_ directory: String) -> Bool {
        let current = ((directory as NSString).appendingPathComponent("rocksdb") as NSString).appendingPathComponent("CURRENT")
        return FileManager.default.fileExists(atPath: current)
    }

    /// The stored id, or nil when there is none.
    static func read(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        let id = contents.hasSuffix("\n") ? String(contents.dropLast()) : contents
        do {
            try validate(id)
        } catch {
            throw ConfigurationError("\(path) is corrupt: \(error)")
        }
        return id
    }

    /// Stores `id` at `path` unless a file is already there (then returns false).
    static func create(_ path: String, id: String) throws -> Bool {
        let temporary = path + ".tmp.\(getpid())"
        defer { unlink(temporary) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        let bytes = Array((id + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { close(fd); throw failure("write \(temporary)", code: written < 0 ? errno : EIO) }
        guard fsync(fd) == 0 else { let code = errno; close(fd); throw failure("fsync \(temporary)", code: code) }
        close(fd)
        // link(2) fails if the name exists, so two racing starts cannot both store an id.
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            throw failure("link \(path)")
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
        return true
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open \(directory)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync \(directory)") }
    }

    static func failure(_ what: String, code: Int32 = errno) -> ConfigurationError {
        ConfigurationError("cannot store the node id: \(what) failed: \(String(cString: strerror(code)))")
    }
}
