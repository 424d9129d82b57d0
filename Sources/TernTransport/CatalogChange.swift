import TernCore

/// One change of the catalog: the `change` bytes of a `CatalogEntry`, decided in one slot of the
/// `CatalogLog` and applied on every node in slot order.
///
/// A change carries the whole new definition rather than a delta: it was validated against the
/// catalog at the version just before its slot, which is the catalog every node holds when it
/// applies it, so the definition is exactly what every node must store.
enum CatalogChange: Sendable, Equatable {
    /// CreateTable; the definition's id is the applied catalog's next table id at the version it
    /// was validated against.
    case create(TableDefinition)
    /// UpdateTable, TagResource, UntagResource: the new definition of an ACTIVE table.
    case update(TableDefinition)
    /// DeleteTable's first step: the table turns DELETING (and every node fences its writes).
    case markDeleting(name: String, tableId: UInt32)
    /// DeleteTable's last step: the definition, items and statistics go.
    case remove(name: String, tableId: UInt32)

    static let formatVersion: UInt8 = 1

    /// Format version (1), kind (1 create, 2 update, 3 markDeleting, 4 remove), then the
    /// definition's JSON (create, update) or the table id (UInt32 big-endian) and name (UTF-8).
    func encoded() -> [UInt8] {
        switch self {
        case .create(let table): return [Self.formatVersion, 1] + table.encodedJSON()
        case .update(let table): return [Self.formatVersion, 2] + table.encodedJSON()
        case .markDeleting(let name, let tableId): return [Self.formatVersion, 3] + Self.bigEndian(tableId) + Array(name.utf8)
        case .remove(let name, let tableId): return [Self.formatVersion, 4] + Self.bigEndian(tableId) + Array(name.utf8)
        }
    }

    /// Nil for bytes that are no change of this format (every node then skips the entry alike).
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 2, bytes[0] == Self.formatVersion else { return nil }
        let body = Array(bytes[2...])
        switch bytes[1] {
        case 1, 2:
            guard let table = TableDefinition.decode(body) else { return nil }
            self = bytes[1] == 1 ? .create(table) : .update(table)
        case 3, 4:
            guard body.count >= 5, let name = String(validating: body[4...], as: UTF8.self) else { return nil }
            let tableId = body[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            self = bytes[1] == 3 ? .markDeleting(name: name, tableId: tableId) : .remove(name: name, tableId: tableId)
        default:
            return nil
        }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}

/// The catalog as the applied log makes it: the tables, the table id counter and the version
/// (the last slot applied). Every node that applied the same slots holds the same value.
struct AppliedCatalog: Sendable, Equatable {
    var version: UInt64 = 0
    var tables: [String: TableDefinition] = [:]
    /// The next table id; it only grows, so an id is never handed out twice.
    var nextTableId: UInt32 = 1

    /// What applying one change did.
    enum Effect: Sendable, Equatable {
        /// Nothing: the change does not fit this catalog (never the case for a change validated
        /// against the version before its slot; skipped the same way on every node).
        case none
        case stored(TableDefinition)
        case deleting(TableDefinition)
        case removed(TableDefinition)
    }

    /// Applies the change of slot `version + 1`, deterministically.
    mutating func apply(_ change: CatalogChange?) -> Effect {
        version += 1
        switch change {
        case .create(let table)?:
            guard tables[table.name] == nil, table.tableId >= nextTableId, table.tableId < UInt32.max else { return .none }
            tables[table.name] = table
            nextTableId = table.tableId + 1
            return .stored(table)
        case .update(let table)?:
            guard let current = tables[table.name], current.tableId == table.tableId, current.status != .deleting,
                  table.status != .deleting else { return .none }
            tables[table.name] = table
            return .stored(table)
        case .markDeleting(let name, let tableId)?:
            guard var table = tables[name], table.tableId == tableId, table.status != .deleting else { return .none }
            table.status = .deleting
            tables[name] = table
            return .deleting(table)
        case .remove(let name, let tableId)?:
            guard let table = tables[name], table.tableId == tableId, table.status == .deleting else { return .none }
            tables[name] = nil
            return .removed(table)
        case nil:
            return .none
        }
    }
}
