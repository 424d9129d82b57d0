extension Condition {
    /// Evaluates with DynamoDB's semantics; a missing item behaves as an empty map.
    /// Type mismatches in comparisons and functions make the condition false, never an error.
    public func evaluate(_ item: Item?) -> Bool {
        ConditionEvaluator.evaluate(self, item ?? Item())
    }
}

enum ConditionEvaluator {
    enum Order { case less, equal, greater }

    static func evaluate(_ condition: Condition, _ item: Item) -> Bool {
        switch condition {
        case .and(let l, let r):
            return evaluate(l, item) && evaluate(r, item)
        case .or(let l, let r):
            return evaluate(l, item) || evaluate(r, item)
        case .not(let inner):
            return !evaluate(inner, item)
        case .compare(let l, let comparator, let r):
            let left = value(l, item)
            let right = value(r, item)
            switch comparator {
            case .equal:
                guard let left, let right else { return false }
                return equal(left, right)
            case .notEqual:
                guard let left, let right else { return true }
                return !equal(left, right)
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard let left, let right, let order = order(left, right) else { return false }
                switch comparator {
                case .less: return order == .less
                case .lessOrEqual: return order != .greater
                case .greater: return order == .greater
                default: return order != .less
                }
            }
        case .between(let x, let lo, let hi):
            guard let subject = value(x, item), let low = value(lo, item), let high = value(hi, item),
                let lowOrder = order(low, subject), let highOrder = order(subject, high)
            else { return false }
            return lowOrder != .greater && highOrder != .greater
        case .isIn(let x, let candidates):
            guard let subject = value(x, item) else { return false }
            return candidates.contains { candidate in value(candidate, item).map { equal(subject, $0) } ?? false }
        case .attributeExists(let path):
            return path.value(in: item) != nil
        case .attributeNotExists(let path):
            return path.value(in: item) == nil
        case .attributeType(let path, let typeName):
            return path.value(in: item)?.typeName == typeName
        case .beginsWith(let a, let b):
            switch (value(a, item), value(b, item)) {
            case (.s(let s)?, .s(let prefix)?): return s.utf8.starts(with: prefix.utf8)
            case (.b(let bytes)?, .b(let prefix)?): return bytes.starts(with: prefix)
            default: return false
            }
        case .contains(let a, let b):
            guard let container = value(a, item), let element = value(b, item) else { return false }
            return contains(container, element)
        }
    }

    /// The value of an operand in `item`, or nil when the path is missing or `size` does not apply.
    static func value(_ operand: Operand, _ item: Item) -> AttributeValue? {
        switch operand {
        case .value(let value):
            return value
        case .path(let path):
            return path.value(in: item)
        case .size(let path):
            guard let value = path.value(in: item), let size = size(of: value) else { return nil }
            return .n(DynamoNumber(size))
        }
    }

    /// DynamoDB's `size`: UTF-16 code units of a string, bytes of a binary, elements of a set, list or map.
    static func size(of value: AttributeValue) -> Int? {
        switch value {
        case .s(let s): return s.utf16.count
        case .b(let b): return b.count
        case .ss(let set): return set.count
        case .ns(let set): return set.count
        case .bs(let set): return set.count
        case .l(let list): return list.count
        case .m(let map): return map.count
        case .n, .bool, .null: return nil
        }
    }

    /// Ordering for `<`, `<=`, `>`, `>=` and BETWEEN: only between two S (UTF-8 bytes), two N or two B.
    static func order(_ a: AttributeValue, _ b: AttributeValue) -> Order? {
        switch (a, b) {
        case (.s(let x), .s(let y)):
            return bytesOrder(x.utf8, y.utf8)
        case (.n(let x), .n(let y)):
            return x < y ? .less : (x == y ? .equal : .greater)
        case (.b(let x), .b(let y)):
            return bytesOrder(x, y)
        default:
            return nil
        }
    }

    static func bytesOrder<C: Collection>(_ x: C, _ y: C) -> Order where C.Element == UInt8 {
        if x.elementsEqual(y) { return .equal }
        return x.lexicographicallyPrecedes(y) ? .less : .greater
    }

    /// DynamoDB equality: same type and value; sets compare as sets, maps and lists deeply.
    static func equal(_ a: AttributeValue, _ b: AttributeValue) -> Bool {
        switch (a, b) {
        case (.s(let x), .s(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.n(let x), .n(let y)): return x == y
        case (.b(let x), .b(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        case (.ss(let x), .ss(let y)): return sameSet(x.map { Array($0.utf8) }, y.map { Array($0.utf8) })
        case (.ns(let x), .ns(let y)): return sameSet(x, y)
        case (.bs(let x), .bs(let y)): return sameSet(x, y)
        case (.l(let x), .l(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.m(let x), .m(let y)):
            guard x.count == y.count else { return false }
            return zip(x.entries, y.entries).allSatisfy { $0.name == $1.name && equal($0.value, $1.value) }
        default:
            return false
        }
    }

    static func sameSet<T: Hashable>(_ x: [T], _ y: [T]) -> Bool {
        let left = Set(x)
        return left.count == Set(y).count && left == Set(y)
    }

    static func contains(_ container: AttributeValue, _ element: AttributeValue) -> Bool {
        switch (container, element) {
        case (.s(let s), .s(let part)):
            return containsSubsequence(Array(s.utf8), Array(part.utf8))
        case (.b(let bytes), .b(let part)):
            return containsSubsequence(bytes, part)
        case (.ss(let set), .s(let s)):
            return set.contains { $0.utf8.elementsEqual(s.utf8) }
        case (.ns(let set), .n(let n)):
            return set.contains(n)
        case (.bs(let set), .b(let b)):
            return set.contains(b)
        case (.l(let list), _):
            return list.contains { equal($0, element) }
        default:
            return false
        }
    }

    static func containsSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }
}

extension AttributeValue {
    /// True when both values are of one ordered type (S, N or B) and `self` sorts after `other`:
    /// the reversed bounds that DynamoDB refuses in a legacy BETWEEN.
    public func sortsAfter(_ other: AttributeValue) -> Bool {
        ConditionEvaluator.order(self, other) == .greater
    }
}
