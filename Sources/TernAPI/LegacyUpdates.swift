import TernCore

/// The legacy AttributeUpdates parameter of UpdateItem (`{attr: {Action, Value}}`), translated
/// into an UpdateExpression so one code path applies both forms.
enum LegacyUpdates {
    static func attributeUpdates(_ members: [(String, JSON)], table: TableDefinition) throws(DynamoDBError) -> UpdateExpression {
        var actions: [UpdateExpression.Action] = []
        for (name, json) in members {
            if table.keyAttributes.contains(where: { $0.name == name }) {
                throw DynamoDBError.validation("One or more parameter values were invalid: Cannot update attribute \(name). This attribute is part of the key")
            }
            let entry = try RequestParameters(json)
            let action = try entry.string("Action") ?? "PUT"
            let value = try entry.object("Value").map { (json) throws(DynamoDBError) in try AttributeValue(json: json) }
            let path = DocumentPath([.name(name)])
            switch (action, value) {
            case ("PUT", .some(let value)):
                actions.append(.set(path, .operand(.value(value))))
            case ("DELETE", nil):
                actions.append(.remove(path))
            case ("DELETE", .some(let value)):
                guard isSet(value) else {
                    throw DynamoDBError.validation("One or more parameter values were invalid: DELETE action with value is not supported for the type \(value.typeName)")
                }
                actions.append(.delete(path, value))
            case ("ADD", .some(let value)):
                switch value {
                case .n, .ss, .ns, .bs:
                    actions.append(.add(path, value))
                case .l:
                    // Legacy ADD appends to a list (the expression form has list_append instead).
                    actions.append(.set(path, .operand(.listAppend(.ifNotExists(path, .value(.l([]))), .value(value)))))
                default:
                    throw DynamoDBError.validation("One or more parameter values were invalid: ADD action is not supported for the type \(value.typeName)")
                }
            case ("PUT", nil), ("ADD", nil):
                throw DynamoDBError.validation("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified")
            default:
                throw DynamoDBError.validation("1 validation error detected: Value '\(action)' at 'attributeUpdates.\(name).member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]")
            }
        }
        return UpdateExpression(actions: actions)
    }

    static func isSet(_ value: AttributeValue) -> Bool {
        switch value {
        case .ss, .ns, .bs: return true
        default: return false
        }
    }
}
