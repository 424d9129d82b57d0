/// One step of a document path: a map member or a list index.
public enum PathElement: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case index(Int)

    public var description: String {
        switch self {
        case .name(let name): return name
        case .index(let index): return "[\(index)]"
        }
    }
}

/// A document path such as `a.b[2].c`: a top-level attribute, then members and list indexes.
public struct DocumentPath: Sendable, Hashable, CustomStringConvertible {
    public var elements: [PathElement]

    public init(_ elements: [PathElement]) {
        precondition(!elements.isEmpty, "a document path names at least its top-level attribute")
        self.elements = elements
    }

    /// DynamoDB's rendering in error messages: `[a, b, [2]]`.
    public var description: String {
        "[" + elements.map(\.description).joined(separator: ", ") + "]"
    }

    /// The value at this path in `item`, or nil.
    public func value(in item: Item) -> AttributeValue? {
        guard case .name(let first) = elements[0], var current = item[first] else { return nil }
        for element in elements.dropFirst() {
            switch (element, current) {
            case (.name(let name), .m(let map)):
                guard let next = map[name] else { return nil }
                current = next
            case (.index(let index), .l(let list)):
                guard index < list.count else { return nil }
                current = list[index]
            default:
                return nil
            }
        }
        return current
    }
}

/// Applies projections (ProjectionExpression, AttributesToGet) to items.
public enum Projection {
    /// The parts of `item` named by `paths`. Selected list elements come back in index order,
    /// compacted into a list, as DynamoDB returns them; a path that names nothing adds nothing.
    public static func apply(_ paths: [DocumentPath], to item: Item) -> Item {
        projectMap(item, paths.map { $0.elements[...] })
    }

    static func projectMap(_ map: AttributeMap, _ paths: [ArraySlice<PathElement>]) -> AttributeMap {
        var result = AttributeMap()
        var names: [String] = []
        var rests: [String: [ArraySlice<PathElement>]] = [:]
        for path in paths {
            guard case .name(let name)? = path.first else { continue }
            if rests[name] == nil { names.append(name) }
            rests[name, default: []].append(path.dropFirst())
        }
        for name in names {
            guard let value = map[name], let suffixes = rests[name] else { continue }
            if let projected = project(value, suffixes) { result[name] = projected }
        }
        return result
    }

    static func project(_ value: AttributeValue, _ suffixes: [ArraySlice<PathElement>]) -> AttributeValue? {
        if suffixes.contains(where: { $0.isEmpty }) { return value }
        switch value {
        case .m(let map):
            let projected = projectMap(map, suffixes)
            return projected.isEmpty ? nil : .m(projected)
        case .l(let list):
            return projectList(list, suffixes)
        default:
            return nil
        }
    }

    static func projectList(_ list: [AttributeValue], _ suffixes: [ArraySlice<PathElement>]) -> AttributeValue? {
        var byIndex: [Int: [ArraySlice<PathElement>]] = [:]
        for suffix in suffixes {
            guard case .index(let index)? = suffix.first, index < list.count else { continue }
            byIndex[index, default: []].append(suffix.dropFirst())
        }
        var elements: [AttributeValue] = []
        for index in byIndex.keys.sorted() {
            if let projected = project(list[index], byIndex[index]!) { elements.append(projected) }
        }
        return elements.isEmpty ? nil : .l(elements)
    }
}
