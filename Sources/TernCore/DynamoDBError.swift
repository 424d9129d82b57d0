/// An error that DynamoDB defines, rendered as `{"__type": ..., "message": ...}` with its HTTP status.
///
/// Handlers throw these; one place in the API layer renders them. The set of codes may grow,
/// so this is a struct rather than an enum.
public struct DynamoDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The short error code clients match on, such as `ValidationException`.
    public let code: String
    /// The namespace DynamoDB prefixes to the code in `__type`.
    public let namespace: String
    public let message: String
    public let httpStatus: Int
    /// The item a failed conditional write returns when the request asked for
    /// `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    public var item: Item?

    public init(code: String, namespace: String, message: String, httpStatus: Int = 400, item: Item? = nil) {
        self.code = code
        self.namespace = namespace
        self.message = message
        self.httpStatus = httpStatus
        self.item = item
    }

    /// The `__type` field: `namespace#code`.
    public var type: String { "\(namespace)#\(code)" }

    public var description: String { "\(code): \(message)" }

    static let dynamoNamespace = "com.amazonaws.dynamodb.v20120810"
    static let coralValidate = "com.amazon.coral.validate"
    static let coralService = "com.amazon.coral.service"

    public static func validation(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "ValidationException", namespace: coralValidate, message: message)
    }

    public static func serialization(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "SerializationException", namespace: coralService, message: message)
    }

    public static func resourceNotFound(_ message: String = "Requested resource not found") -> DynamoDBError {
        DynamoDBError(code: "ResourceNotFoundException", namespace: dynamoNamespace, message: message)
    }

    public static func resourceInUse(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "ResourceInUseException", namespace: dynamoNamespace, message: message)
    }

    public static func conditionalCheckFailed(_ message: String = "The conditional request failed") -> DynamoDBError {
        DynamoDBError(code: "ConditionalCheckFailedException", namespace: dynamoNamespace, message: message)
    }

    public static func unknownOperation(_ message: String = "") -> DynamoDBError {
        DynamoDBError(code: "UnknownOperationException", namespace: coralService, message: message)
    }

    public static func missingAuthenticationToken(_ message: String = "Request is missing Authentication Token") -> DynamoDBError {
        DynamoDBError(code: "MissingAuthenticationTokenException", namespace: coralService, message: message)
    }

    public static func invalidSignature(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "InvalidSignatureException", namespace: coralService, message: message)
    }

    public static func unrecognizedClient(
        _ message: String = "The security token included in the request is invalid."
    ) -> DynamoDBError {
        DynamoDBError(code: "UnrecognizedClientException", namespace: coralService, message: message)
    }

    public static func throttling(_ message: String = "Rate of requests exceeds the allowed throughput.") -> DynamoDBError {
        DynamoDBError(code: "ThrottlingException", namespace: coralService, message: message)
    }

    public static func limitExceeded(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "LimitExceededException", namespace: dynamoNamespace, message: message)
    }

    public static func internalServerError(_ message: String = "Internal server error") -> DynamoDBError {
        DynamoDBError(code: "InternalServerError", namespace: dynamoNamespace, message: message, httpStatus: 500)
    }

    /// The request body exceeded the server's bound.
    public static func requestTooLarge(_ message: String) -> DynamoDBError {
        DynamoDBError(code: "RequestEntityTooLarge", namespace: coralService, message: message, httpStatus: 413)
    }
}
