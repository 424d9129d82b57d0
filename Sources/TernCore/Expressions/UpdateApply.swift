extension UpdateExpression {
    /// Applies the expression to `item` (nil → empty) and returns the new item.
    ///
    /// Every action reads the old item: SET values are computed first, then all actions are
    /// applied together, so list indexes in REMOVE and SET refer to positions in the old list.
    /// SET of an index past the end of a list appends; REMOVE of a missing attribute or index is
    /// a no-op; a path whose parent is missing or of the wrong type is refused.
    public func apply(to item: Item?, keyAttributeNames: [String]) throws(DynamoDBError) -> Item {
        for action in actions {
            if case .name(let top) = action.path.elements[0], keyAttributeNames.contains(top) {
                throw DynamoDBError.validation(
                    "One or more parameter values were invalid: Cannot update attribute \(top). This attribute is part of the key")
            }
        }
        let old = item ?? Item()
        var edits: [UpdateEdit] = []
        edits.reserveCapacity(actions.count)
        for action in actions {
            switch action {
            case .set(let path, let value):
                edits.append(UpdateEdit(path: path.elements[...], change: .set(try UpdateEvaluator.value(value, old))))
            case .remove(let path):
                edits.append(UpdateEdit(path: path.elements[...], change: .remove))
            case .add(let path, let value):
                edits.append(UpdateEdit(path: path.elements[...], change: .add(value)))
            case .delete(let path, let value):
                edits.append(UpdateEdit(path: path.elements[...], change: .delete(value)))
            }
        }
        return try UpdateEvaluator.applyMap(old, edits)
    }
}

struct UpdateEdit {
    enum Change {
        case set(AttributeValue)
        case remove
        case add(AttributeValue)
        case delete(AttributeValue)
    }

    var path: ArraySlice<PathElement>
    var change: Change
}

enum UpdateEvaluator {
    static func missingAttribute() -> DynamoDBError {
        DynamoDBError.validation("The provided expression refers to an attribute that does not exist in the item")
    }

    static func wrongType() -> DynamoDBError {
        DynamoDBError.validation("An operand in the update expression has an incorrect data type")
    }

    static func invalidPath() -> DynamoDBError {
        DynamoDBError.validation("The document path provided in the update expression is invalid for update")
    }

    static func value(_ value: UpdateExpression.SetValue, _ item: Item) throws(DynamoDBError) -> AttributeValue {
        switch value {
        case .operand(let operand):
            return try self.operand(operand, item)
        case .plus(let a, let b), .minus(let a, let b):
            guard case .n(let x) = try operand(a, item) else { throw wrongType() }
            guard case .n(let y) = try operand(b, item) else { throw wrongType() }
            if case .plus = value { return .n(try x + y) }
            return .n(try x - y)
        }
    }

    static func operand(_ operand: UpdateExpression.Operand, _ item: Item) throws(DynamoDBError) -> AttributeValue {
        switch operand {
        case .value(let value):
            return value
        case .path(let path):
            guard let value = path.value(in: item) else { throw missingAttribute() }
            return value
        case .ifNotExists(let path, let fallback):
            if let value = path.value(in: item) { return value }
            return try self.operand(fallback, item)
        case .listAppend(let a, let b):
            guard case .l(let first) = try self.operand(a, item) else { throw wrongType() }
            guard case .l(let second) = try self.operand(b, item) else { throw wrongType() }
            return .l(first + second)
        }
    }

    /// Applies edits whose paths start with a member name of `map`.
    static func applyMap(_ map: AttributeMap, _ edits: [UpdateEdit]) throws(DynamoDBError) -> AttributeMap {
        var result = map
        var order: [String] = []
        var groups: [String: [UpdateEdit]] = [:]
        for edit in edits {
            guard case .name(let name)? = edit.path.first else { throw invalidPath() }
            if groups[name] == nil { order.append(name) }
            groups[name, default: []].append(UpdateEdit(path: edit.path.dropFirst(), change: edit.change))
        }
        for name in order {
            result[name] = try applyValue(map[name], groups[name] ?? [])
        }
        return result
    }

    /// The new value of one position given the edits at or below it (nil removes it).
    static func applyValue(_ existing: AttributeValue?, _ edits: [UpdateEdit]) throws(DynamoDBError) -> AttributeValue? {
        if let leaf = edits.first(where: { $0.path.isEmpty }) {
            // Overlapping paths are refused when parsed, so a leaf edit is alone here.
            return try applyChange(existing, leaf.change)
        }
        switch existing {
        case .m(let map)?:
            return .m(try applyMap(map, edits))
        case .l(let list)?:
            return .l(try applyList(list, edits))
        default:
            throw invalidPath()
        }
    }

    static func applyList(_ list: [AttributeValue], _ edits: [UpdateEdit]) throws(DynamoDBError) -> [AttributeValue] {
        var slots: [AttributeValue?] = list
        var byIndex: [Int: [UpdateEdit]] = [:]
        for edit in edits {
            guard case .index(let index)? = edit.path.first else { throw invalidPath() }
            byIndex[index, default: []].append(UpdateEdit(path: edit.path.dropFirst(), change: edit.change))
        }
        var appended: [AttributeValue] = []
        for index in byIndex.keys.sorted() {
            let group = byIndex[index] ?? []
            if index < list.count {
                slots[index] = try applyValue(list[index], group)
            } else if let new = try applyValue(nil, group) {
                // Past the end: SET and ADD append, in index order; REMOVE and DELETE do nothing.
                appended.append(new)
            }
        }
        return slots.compactMap { $0 } + appended
    }

    static func applyChange(_ existing: AttributeValue?, _ change: UpdateEdit.Change) throws(DynamoDBError) -> AttributeValue? {
        switch change {
        case .set(let value):
            return value
        case .remove:
            return nil
        case .add(let value):
            guard let existing else { return value }
            switch (existing, value) {
            case (.n(let x), .n(let y)): return .n(try x + y)
            case (.ss(let x), .ss(let y)): return .ss(union(x, y))
            case (.ns(let x), .ns(let y)): return .ns(union(x, y))
            case (.bs(let x), .bs(let y)): return .bs(union(x, y))
            default: throw wrongType()
            }
        case .delete(let value):
            guard let existing else { return nil }
            let remaining: AttributeValue
            switch (existing, value) {
            case (.ss(let x), .ss(let y)): remaining = .ss(difference(x, y))
            case (.ns(let x), .ns(let y)): remaining = .ns(difference(x, y))
            case (.bs(let x), .bs(let y)): remaining = .bs(difference(x, y))
            default: throw wrongType()
            }
            return ConditionEvaluator.size(of: remaining) == 0 ? nil : remaining
        }
    }

    static func union<T: Hashable>(_ existing: [T], _ added: [T]) -> [T] {
        var seen = Set(existing)
        var out = existing
        for element in added where seen.insert(element).inserted { out.append(element) }
        return out
    }

    static func difference<T: Hashable>(_ existing: [T], _ removed: [T]) -> [T] {
        let gone = Set(removed)
        return existing.filter { !gone.contains($0) }
    }
}
