import TernCore

// TagResource, UntagResource, ListTagsOfResource. Tags live in the table definition, so they
// survive restarts with it.

extension DynamoDBService {
    static let maxTagsPerResource = 50
    static let maxTagKeyLength = 128
    static let maxTagValueLength = 256

    /// AWS's tagging rule (developer guide, "Tagging restrictions in DynamoDB"): Unicode letters,
    /// numbers and separators (spaces), and `_ . : / = + - @`. Control characters such as tab are
    /// outside it.
    static let tagPattern = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"

    static func isTagText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .decimalNumber, .letterNumber, .otherNumber,
                 .spaceSeparator, .lineSeparator, .paragraphSeparator:
                return true
            default:
                return "_.:/=+-@".unicodeScalars.contains(scalar)
            }
        }
    }

    /// Tags as DynamoDB's request validation sees them: every constraint broken by any tag is
    /// reported at once, at its 1-based path (`tags.2.member.value`), as for KeySchema.
    func parseTags(_ parameters: RequestParameters, member: String) throws(DynamoDBError) -> [(key: String, value: String)]? {
        guard let elements = try parameters.array(member) else { return nil }
        var checks = try RequestParameters(.object([]))
        var tags: [(key: String, value: String)] = []
        for (index, element) in elements.enumerated() {
            let tag = try RequestParameters(element)
            let key = try tag.string("Key")
            let value = try tag.string("Value")
            DynamoDBService.checkTagText(key, path: "tags.\(index + 1).member.key", lengths: 1...DynamoDBService.maxTagKeyLength, into: &checks)
            DynamoDBService.checkTagText(value, path: "tags.\(index + 1).member.value", lengths: 0...DynamoDBService.maxTagValueLength, into: &checks)
            guard let key, let value else { continue }
            tags.removeAll { $0.key == key }
            tags.append((key: key, value: value))
        }
        try checks.throwViolations()
        if tags.contains(where: { $0.key.hasPrefix("aws:") }) {
            throw DynamoDBError.validation("One or more parameter values were invalid: Tag keys beginning with 'aws:' are reserved for system use")
        }
        if tags.count > DynamoDBService.maxTagsPerResource {
            throw DynamoDBError.validation("One or more parameter values were invalid: The number of tags exceeds the limit of \(DynamoDBService.maxTagsPerResource)")
        }
        return tags
    }

    static func checkTagText(_ text: String?, path: String, lengths: ClosedRange<Int>, into checks: inout RequestParameters) {
        guard let text else {
            checks.violation(path, value: nil, "Member must not be null")
            return
        }
        if text.count < lengths.lowerBound {
            checks.violation(path, value: text, "Member must have length greater than or equal to \(lengths.lowerBound)")
        }
        if text.count > lengths.upperBound {
            checks.violation(path, value: text, "Member must have length less than or equal to \(lengths.upperBound)")
        }
        if !isTagText(text) {
            checks.violation(path, value: text, "Member must satisfy regular expression pattern: \(tagPattern)")
        }
    }

    /// The table an ARN names; DynamoDB's errors for a malformed ARN or a missing table.
    func tableForArn(_ parameters: RequestParameters) throws(DynamoDBError) -> TableDefinition {
        guard let arn = try parameters.string("ResourceArn") else {
            throw DynamoDBError.validation("1 validation error detected: Value null at 'resourceArn' failed to satisfy constraint: Member must not be null")
        }
        let prefix = "arn:aws:dynamodb:"
        guard arn.hasPrefix(prefix), let range = arn.range(of: ":table/") else {
            throw DynamoDBError.validation("Invalid TableArn: Invalid ResourceArn provided as input \(arn)")
        }
        let name = String(arn[range.upperBound...])
        try catalog.checkServing()
        guard let table = catalog.table(named: name), tableArn(name) == arn else {
            throw DynamoDBError.resourceNotFound("Requested resource not found: ResourcArn: \(arn) not found")
        }
        return table
    }

    func tagResource(_ parameters: RequestParameters) async throws -> [UInt8] {
        let table = try tableForArn(parameters)
        guard let tags = try parseTags(parameters, member: "Tags") else {
            throw DynamoDBError.validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
        }
        if tags.contains(where: { $0.key == TableReplication.replicationTag }) {
            throw DynamoDBError.validation("Tag tern:n can only be given at CreateTable: the table's items are already placed on its replicas")
        }
        try await catalog.modify(table.name) { table in
            for tag in tags {
                table.tags.removeAll { $0.key == tag.key }
                table.tags.append(tag)
            }
            _ = try TableReplication.parse(table.tags)
            if table.tags.count > DynamoDBService.maxTagsPerResource {
                throw DynamoDBError.limitExceeded("The number of tags on the resource would exceed the limit of \(DynamoDBService.maxTagsPerResource)")
            }
        }
        return Array("{}".utf8)
    }

    func untagResource(_ parameters: RequestParameters) async throws -> [UInt8] {
        let table = try tableForArn(parameters)
        guard let keys = try parameters.array("TagKeys") else {
            throw DynamoDBError.validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
        }
        let names = keys.compactMap(\.stringValue)
        try await catalog.modify(table.name) { table in
            table.tags.removeAll { names.contains($0.key) }
        }
        return Array("{}".utf8)
    }

    func listTagsOfResource(_ parameters: RequestParameters) throws -> [UInt8] {
        let table = try tableForArn(parameters)
        let tags: [JSON] = table.tags.map { .object([("Key", .string($0.key)), ("Value", .string($0.value))]) }
        return JSON.object([("Tags", .array(tags))]).serialized()
    }
}
