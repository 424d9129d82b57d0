/// A DynamoDB attribute value: one of the ten types.
public indirect enum AttributeValue: Sendable, Hashable {
    case s(String)
    case n(DynamoNumber)
    case b([UInt8])
    case bool(Bool)
    case null
    case m(AttributeMap)
    case l([AttributeValue])
    case ss([String])
    case ns([DynamoNumber])
    case bs([[UInt8]])

    /// The DynamoDB type descriptor: "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS".
    public var typeName: String {
        switch self {
        case .s: return "S"
        case .n: return "N"
        case .b: return "B"
        case .bool: return "BOOL"
        case .null: return "NULL"
        case .m: return "M"
        case .l: return "L"
        case .ss: return "SS"
        case .ns: return "NS"
        case .bs: return "BS"
        }
    }
}

/// Attributes by name, kept sorted by the UTF-8 bytes of the name.
///
/// Sorted storage makes the binary encoding deterministic (no `Hasher` order leaks into
/// stored bytes) and gives O(log n) lookup without hashing.
public struct AttributeMap: Sendable, Hashable, Sequence {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var value: AttributeValue

        public init(name: String, value: AttributeValue) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var entries: [Entry]

    public init() {
        entries = []
    }

    /// Builds from pairs; a repeated name keeps its last value.
    public init(_ pairs: [(String, AttributeValue)]) {
        entries = []
        entries.reserveCapacity(pairs.count)
        for (name, value) in pairs { self[name] = value }
    }

    /// Builds from entries already sorted by name with no repeats (as decoders produce).
    init(sortedEntries: [Entry]) {
        entries = sortedEntries
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Binary search: the index of `name`, or where it would be inserted.
    func position(of name: String) -> (index: Int, found: Bool) {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let candidate = entries[mid].name
            // Byte-wise, not String ==: names that are canonically equivalent Unicode but
            // different bytes are different attributes in DynamoDB.
            if candidate.utf8.elementsEqual(name.utf8) { return (mid, true) }
            if AttributeMap.precedes(candidate, name) { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    public subscript(name: String) -> AttributeValue? {
        get {
            let (index, found) = position(of: name)
            return found ? entries[index].value : nil
        }
        set {
            let (index, found) = position(of: name)
            switch (found, newValue) {
            case (true, .some(let value)): entries[index].value = value
            case (true, .none): entries.remove(at: index)
            case (false, .some(let value)): entries.insert(Entry(name: name, value: value), at: index)
            case (false, .none): break
            }
        }
    }
}

/// A DynamoDB item: a map of top-level attributes.
public typealias Item = AttributeMap
