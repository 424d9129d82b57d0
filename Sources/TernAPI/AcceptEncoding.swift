/// Content negotiation for responses (RFC 9110 §12.5.3), with the choices DynamoDB makes where the
/// header is unusual or malformed (observed against the service and recorded in docs/compatibility.md):
/// the highest quality wins; at equal quality a coding named explicitly beats one reached through
/// `*`, then the earlier entry wins, then gzip; `identity` and unknown codings are ignored; an
/// entry whose coding is not a valid token is skipped; the first `q` parameter counts; a `q` above 1
/// counts as 1, a negative one as 0 and an unparsable one as 1; a coding listed twice keeps its
/// higher quality; `x-gzip` is not taken for gzip here (DynamoDB answers it uncompressed).
enum AcceptEncoding {
    /// The coding to apply to a response for this `Accept-Encoding` value, or nil for none.
    static func preferredCoding(_ header: String) -> ContentCoding? {
        var gzip: Candidate?
        var deflate: Candidate?
        var star: Double?
        for (position, element) in header.split(separator: ",", omittingEmptySubsequences: true).enumerated() {
            let parts = element.split(separator: ";", omittingEmptySubsequences: false)
            let name = trimmed(parts[0]).lowercased()
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { continue }
            let quality = firstQuality(parts.dropFirst())
            switch name {
            case "gzip": gzip = Candidate.merge(gzip, quality: quality, position: position)
            case "deflate": deflate = Candidate.merge(deflate, quality: quality, position: position)
            case "*": star = max(star ?? 0, quality)
            default: continue
            }
        }
        // Codings only `*` names rank after every explicitly named one; gzip before deflate.
        let starPosition = Int.max / 2
        let ranked: [(ContentCoding, Candidate?)] = [
            (.gzip, gzip ?? star.map { Candidate(quality: $0, position: starPosition) }),
            (.deflate, deflate ?? star.map { Candidate(quality: $0, position: starPosition + 1) }),
        ]
        var best: (coding: ContentCoding, candidate: Candidate)?
        for case let (coding, candidate?) in ranked where candidate.quality > 0 {
            if let current = best, !candidate.beats(current.candidate) { continue }
            best = (coding, candidate)
        }
        return best?.coding
    }

    struct Candidate {
        var quality: Double
        var position: Int

        static func merge(_ existing: Candidate?, quality: Double, position: Int) -> Candidate {
            guard let existing else { return Candidate(quality: quality, position: position) }
            return Candidate(quality: max(existing.quality, quality), position: existing.position)
        }

        func beats(_ other: Candidate) -> Bool {
            quality > other.quality || (quality == other.quality && position < other.position)
        }
    }

    /// The value of the first `q` parameter, clamped to 0…1; 1 when there is none or it is unparsable.
    static func firstQuality(_ parameters: ArraySlice<Substring>) -> Double {
        for parameter in parameters {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, trimmed(pair[0]).lowercased() == "q" else { continue }
            return quality(trimmed(pair[1]))
        }
        return 1
    }

    static func quality(_ text: Substring) -> Double {
        if text.hasPrefix("-") { return 0 }
        // digits, optionally "." and more digits ("0." is 0, as DynamoDB reads it)
        let pieces = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = pieces.first, !whole.isEmpty, whole.utf8.allSatisfy(isDigit),
              pieces.count == 1 || pieces[1].utf8.allSatisfy(isDigit),
              let value = Double(pieces.count == 2 ? "\(whole).\(pieces[1])0" : String(whole))
        else { return 1 }
        return min(value, 1)
    }

    static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 9110 §5.6.2 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenPunctuation.contains(byte)
        }
    }

    static let tokenPunctuation: [UInt8] = Array("!#$%&'*+-.^_`|~".utf8)
}
