import TernCore

// DescribeContinuousBackups: Tern keeps no backups and no point-in-time recovery yet, so every
// table reports what a DynamoDB table reports before PITR is turned on.

extension DynamoDBService {
    /// API reference: "Continuous backups are ENABLED on all tables at table creation"; point-in-time
    /// recovery stays DISABLED until UpdateContinuousBackups enables it, which Tern does not offer.
    /// A missing table is a TableNotFoundException ("Table not found: <name>", as DynamoDB answers),
    /// not the ResourceNotFoundException of the other table operations.
    func describeContinuousBackups(_ input: RequestParameters) throws -> [UInt8] {
        var parameters = input
        let name = try parameters.tableName()
        try parameters.throwViolations()
        guard catalog.table(named: name) != nil else {
            throw DynamoDBError(code: "TableNotFoundException", namespace: "com.amazonaws.dynamodb.v20120810", message: "Table not found: \(name)")
        }
        return JSON.object([
            ("ContinuousBackupsDescription", .object([
                ("ContinuousBackupsStatus", .string("ENABLED")),
                ("PointInTimeRecoveryDescription", .object([("PointInTimeRecoveryStatus", .string("DISABLED"))])),
            ])),
        ]).serialized()
    }
}
