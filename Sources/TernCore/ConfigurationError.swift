/// A setting that does not hold; the node refuses to start and prints this message.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
