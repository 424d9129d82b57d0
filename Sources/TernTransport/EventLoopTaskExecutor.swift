import NIOCore

/// Runs a request's task on the event loop that read the request (SE-0417: task executor
/// preference), so a request costs no hop to Swift's cooperative pool and back: its code runs on
/// the loop, and when group commit resumes it, it resumes on the loop. The HTTP server runs
/// client requests this way, the peer server replica requests, and the peer messenger the tasks
/// that send replica requests (on the peer connection's own loop, so the frame is written and its
/// answer resumes the task without a thread hop).
///
/// This is safe because nothing a request does blocks: reads that may touch disk run on the
/// `BlockingPool`, durable writes wait in the group-commit queue (a continuation, not a thread),
/// and catalog changes wait on an async gate. What a request computes (JSON, expressions, encoding)
/// is what the loop would do for it anyway. Compressed bodies, whose inflate can take tens of
/// milliseconds, still run on the cooperative pool.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
