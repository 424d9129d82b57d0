#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking HTTP/1.1 keep-alive client connection over a POSIX TCP socket.
///
/// Owned by exactly one thread (hence not Sendable). Every blocking call is bounded:
/// connect by `poll` with a timeout, send/recv by SO_SNDTIMEO/SO_RCVTIMEO, and a whole
/// exchange by an overall deadline, so a stuck server cannot hang the bench.
final class HTTPConnection {
    let host: String
    let port: Int
    /// Upper bound for connecting, and for one complete request/response exchange.
    let timeoutSeconds: Double

    private var fd: Int32 = -1
    /// Bytes received but not yet consumed by a response.
    private var received: [UInt8] = []
    /// Fixed receive scratch space, allocated once per connection.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)

    init(host: String, port: Int, timeoutSeconds: Double = 10) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
        received.reserveCapacity(64 * 1024)
    }

    deinit {
        close()
        scratch.deallocate()
    }

    var isConnected: Bool { fd >= 0 }

    func close() {
        if fd >= 0 {
            _ = systemClose(fd)
            fd = -1
        }
        received.removeAll(keepingCapacity: true)
    }

    /// Sends `request` and reads one response, connecting first if needed.
    ///
    /// If a *reused* connection fails before any response byte arrives, the server most
    /// likely closed it while idle; the request is retried once on a fresh connection
    /// (safe here: the bench only sends idempotent PutItem/GetItem/Describe calls).
    func roundTrip(_ request: [UInt8]) throws(BenchError) -> HTTPResponse {
        let reused = isConnected
        do {
            return try exchange(request)
        } catch where reused && !error.gotResponseBytes {
            do {
                return try exchange(request)
            } catch {
                throw error.error
            }
        } catch {
            throw error.error
        }
    }

    // MARK: Exchange

    private struct ExchangeFailure: Error {
        var error: BenchError
        var gotResponseBytes: Bool
    }

    private func exchange(_ request: [UInt8]) throws(ExchangeFailure) -> HTTPResponse {
        var gotBytes = false
        do {
            if !isConnected { try connect() }
            let deadline = MonotonicClock.nanos() + UInt64(timeoutSeconds * 1e9)
            try sendAll(request)
            let response = try readResponse(deadline: deadline, gotBytes: &gotBytes)
            if !response.keepAlive { close() }
            return response
        } catch {
            close()
            throw ExchangeFailure(error: error as? BenchError ?? .connection("\(error)"), gotResponseBytes: gotBytes)
        }
    }

    private func readResponse(deadline: UInt64, gotBytes: inout Bool) throws -> HTTPResponse {
        var atEOF = false
        while true {
            if case .complete(let response, let consumed) = try HTTPResponseParser.parse(received, atEOF: atEOF) {
                received.removeFirst(consumed)
                return response
            }
            if atEOF { throw BenchError.connection("connection closed by \(host):\(port) mid-response") }
            guard MonotonicClock.nanos() < deadline else {
                throw BenchError.connection("response from \(host):\(port) timed out after \(timeoutSeconds)s")
            }
            let n = try receiveSome()
            if n == 0 {
                atEOF = true
                if !gotBytes { throw BenchError.connection("connection closed by \(host):\(port)") }
            } else {
                gotBytes = true
                received.append(contentsOf: scratch[0..<n])
            }
        }
    }

    // MARK: Socket calls

    private func sendAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = send(fd, buffer.baseAddress! + offset, buffer.count - offset, sendFlags)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw socketError("send")
                }
                offset += n
            }
        }
    }

    /// One `recv`; 0 means the peer closed. SO_RCVTIMEO turns a silent server into EAGAIN.
    private func receiveSome() throws -> Int {
        while true {
            let n = recv(fd, scratch.baseAddress!, scratch.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw BenchError.connection("recv from \(host):\(port) timed out after \(timeoutSeconds)s")
            }
            throw socketError("recv")
        }
    }

    /// Resolves the host and connects to the first address that accepts (no-op when
    /// already connected). Called lazily by `roundTrip`, or up front to keep the
    /// handshake out of measurements.
    func connect() throws {
        if isConnected { return }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocketType
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            throw BenchError.connection("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }

        var lastError = BenchError.connection("no addresses for \(host)")
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let info = candidate {
            do {
                fd = try openSocket(info.pointee)
                return
            } catch let error as BenchError {
                lastError = error
            }
            candidate = info.pointee.ai_next
        }
        throw lastError
    }

    /// Connects with a timeout (non-blocking connect + poll), then configures the socket.
    private func openSocket(_ info: addrinfo) throws -> Int32 {
        let socketFD = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard socketFD >= 0 else { throw socketError("socket") }
        do {
            let flags = fcntl(socketFD, F_GETFL, 0)
            _ = fcntl(socketFD, F_SETFL, flags | O_NONBLOCK)
            if systemConnect(socketFD, info.ai_addr, info.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { throw socketError("connect to \(host):\(port)") }
                try awaitConnect(socketFD)
            }
            _ = fcntl(socketFD, F_SETFL, flags)
            try configure(socketFD)
            return socketFD
        } catch {
            _ = systemClose(socketFD)
            throw error
        }
    }

    private func awaitConnect(_ socketFD: Int32) throws {
        var pfd = pollfd(fd: socketFD, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeoutSeconds * 1000))
        guard ready > 0 else {
            throw BenchError.connection("connect to \(host):\(port) timed out after \(timeoutSeconds)s")
        }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &soError, &length)
        guard soError == 0 else {
            throw BenchError.connection("connect to \(host):\(port): \(String(cString: strerror(soError)))")
        }
    }

    /// TCP_NODELAY because each request is one small write waiting for a reply (Nagle
    /// would add delayed-ACK stalls); timeouts so that blocking calls always return.
    private func configure(_ socketFD: Int32) throws {
        var one: Int32 = 1
        guard setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw socketError("setsockopt(TCP_NODELAY)") }
        var timeout = timeval(
            tv_sec: Int(timeoutSeconds),
            tv_usec: .init((timeoutSeconds - Double(Int(timeoutSeconds))) * 1e6))
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, size) == 0,
            setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, size) == 0
        else { throw socketError("setsockopt(timeouts)") }
        #if canImport(Darwin)
        // Darwin has no MSG_NOSIGNAL; suppress SIGPIPE per socket instead.
        _ = setsockopt(socketFD, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private func socketError(_ call: String) -> BenchError {
        let code = errno
        return .connection("\(call) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}

// MARK: Platform shims

#if canImport(Glibc)
/// MSG_NOSIGNAL: a write to a socket the server closed must fail, not kill the process.
private let sendFlags = Int32(MSG_NOSIGNAL)
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
#else
private let sendFlags: Int32 = 0
private let streamSocketType = SOCK_STREAM
#endif

private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

private func systemConnect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>!, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, address, length)
    #else
    Darwin.connect(fd, address, length)
    #endif
}
