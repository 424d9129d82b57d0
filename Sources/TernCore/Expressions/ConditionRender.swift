extension Condition {
    /// Prints the condition back to expression text. Every attribute name is printed as a generated
    /// `#nK` placeholder and every value as `:vK`, returned with their tables; parentheses appear only
    /// where precedence needs them. `ConditionParser.parse` of the result gives back this condition.
    public func render() -> (text: String, names: [String: String], values: [String: AttributeValue]) {
        var renderer = ExpressionRenderer()
        let text = renderer.condition(self)
        return (text, renderer.names, renderer.values)
    }
}

struct ExpressionRenderer {
    var names: [String: String] = [:]
    var values: [String: AttributeValue] = [:]
    private var nameSlots: [String: String] = [:]
    private var valueSlots: [AttributeValue: String] = [:]

    mutating func name(_ name: String) -> String {
        if let slot = nameSlots[name] { return slot }
        let slot = "#n\(nameSlots.count)"
        nameSlots[name] = slot
        names[slot] = name
        return slot
    }

    mutating func value(_ value: AttributeValue) -> String {
        if let slot = valueSlots[value] { return slot }
        let slot = ":v\(valueSlots.count)"
        valueSlots[value] = slot
        values[slot] = value
        return slot
    }

    mutating func path(_ path: DocumentPath) -> String {
        var out = ""
        for (i, element) in path.elements.enumerated() {
            switch element {
            case .name(let n):
                if i > 0 { out += "." }
                out += name(n)
            case .index(let index):
                out += "[\(index)]"
            }
        }
        return out
    }

    mutating func operand(_ operand: Operand) -> String {
        switch operand {
        case .path(let p): return path(p)
        case .value(let v): return value(v)
        case .size(let p): return "size(\(path(p)))"
        }
    }

    mutating func condition(_ condition: Condition) -> String {
        switch condition {
        case .or(let l, let r):
            let left = self.condition(l)
            let right = self.condition(r)
            return "\(left) OR \(Self.isOr(r) ? "(\(right))" : right)"
        case .and(let l, let r):
            let left = self.condition(l)
            let right = self.condition(r)
            return "\(Self.isOr(l) ? "(\(left))" : left) AND \(Self.isAndOr(r) ? "(\(right))" : right)"
        case .not(let inner):
            let text = self.condition(inner)
            return "NOT \(Self.isAndOr(inner) ? "(\(text))" : text)"
        case .compare(let l, let comparator, let r):
            let left = operand(l)
            return "\(left) \(comparator.rawValue) \(operand(r))"
        case .between(let x, let lo, let hi):
            let subject = operand(x)
            let low = operand(lo)
            return "\(subject) BETWEEN \(low) AND \(operand(hi))"
        case .isIn(let x, let candidates):
            let subject = operand(x)
            var list: [String] = []
            for candidate in candidates { list.append(operand(candidate)) }
            return "\(subject) IN (\(list.joined(separator: ", ")))"
        case .attributeExists(let p):
            return "attribute_exists(\(path(p)))"
        case .attributeNotExists(let p):
            return "attribute_not_exists(\(path(p)))"
        case .attributeType(let p, let typeName):
            let target = path(p)
            return "attribute_type(\(target), \(value(.s(typeName))))"
        case .beginsWith(let a, let b):
            let first = operand(a)
            return "begins_with(\(first), \(operand(b)))"
        case .contains(let a, let b):
            let first = operand(a)
            return "contains(\(first), \(operand(b)))"
        }
    }

    static func isOr(_ condition: Condition) -> Bool {
        if case .or = condition { return true }
        return false
    }

    static func isAndOr(_ condition: Condition) -> Bool {
        switch condition {
        case .and, .or: return true
        default: return false
        }
    }
}
