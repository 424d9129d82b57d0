/// DynamoDB's accounting of item sizes (developer guide, "Item sizes and formats"):
/// attribute name bytes plus value bytes; numbers one byte per two significant digits plus one;
/// binary its raw length; BOOL and NULL one byte; lists and maps three bytes plus one byte per
/// element plus their elements.
public enum ItemSize {
    /// The largest item DynamoDB stores: 400 KB.
    public static let maxItemBytes = 400 * 1024

    public static func of(_ item: Item) -> Int {
        var total = 0
        for entry in item.entries {
            total += entry.name.utf8.count + of(entry.value)
        }
        return total
    }

    public static func of(_ value: AttributeValue) -> Int {
        switch value {
        case .s(let text): return text.utf8.count
        case .n(let number): return number.storageSize
        case .b(let blob): return blob.count
        case .bool, .null: return 1
        case .m(let map):
            var total = 3
            for entry in map.entries { total += 1 + entry.name.utf8.count + of(entry.value) }
            return total
        case .l(let list):
            var total = 3
            for element in list { total += 1 + of(element) }
            return total
        case .ss(let strings): return strings.reduce(0) { $0 + $1.utf8.count }
        case .ns(let numbers): return numbers.reduce(0) { $0 + $1.storageSize }
        case .bs(let blobs): return blobs.reduce(0) { $0 + $1.count }
        }
    }
}
