// Package cluster is vkio's job queue across machines, built on NATS JetStream.
//
// A job is opaque bytes to the queue: a Job carries an ID, a content type and
// a body (the same request bytes `vkdemo serve` takes). A Client submits jobs
// and reads their results; a Worker pulls jobs, runs each through a Handler
// and publishes the outcome. All parties call Setup (idempotent) with the same
// Config, which creates:
//
//	stream  <P>_jobs     subjects <p>.jobs.<id>     work queue, file storage,
//	                                                duplicate window (Nats-Msg-Id = id)
//	consumer <P>_workers on <P>_jobs                durable pull, AckExplicit,
//	                                                AckWait, no server MaxDeliver
//	stream  <P>_results  subjects <p>.results.<id>  one final Result per job ID
//	stream  <P>_dead     subjects <p>.dead.<id>     dead-letter records
//	bucket  <P>_objects  object store               "in/<id>" large job bodies,
//	                                                "out/<id>/<name>" outputs
//	subject <p>.events.<id> (core NATS, not stored) live output chunks
//
// where <P> and <p> are Config.Prefix.
//
// Delivery is at least once; the worker makes it exactly once in effect:
//
//  1. Before running a job it reads the results stream: if a final result for
//     the ID is already durable (a worker died between saving and acking), the
//     job is acked and not run again.
//  2. Outputs are saved under names keyed by the job ID; a re-run replaces the
//     same names, each object atomically. A run that lost a race (its job was
//     redelivered and finished elsewhere) cannot replace them: Output.Put
//     fails with ErrAlreadyDone once a final result exists.
//  3. The final result is published to the results stream with
//     Nats-Msg-Id "result-<id>" and an expected-last-subject-sequence of 0, so
//     the first final result wins and duplicates are dropped; only after its
//     publish ack does the worker ack the job (a double ack, confirmed by the
//     server).
//  4. A job whose handler fails is negatively acked with a delay and retried;
//     on its last allowed delivery (Config.MaxDeliver) it is dead-lettered: a
//     record on <p>.dead.<id> and a final Result with status "dead-letter", so
//     waiting submitters return; then the message is terminated (Term, which
//     also raises the server's MSG_TERMINATED advisory). A job whose workers crash (or hang past
//     AckWait) is redelivered by the server; the worker that receives a
//     delivery beyond the limit dead-letters it without running it. The
//     consumer itself has no MaxDeliver, so no job is ever stranded in the
//     queue without a final result.
//
// Long jobs are kept alive with in-progress acks every AckWait/3. A worker
// asks the server for exactly as many jobs as it has free slots, so a slow job
// never holds queued jobs back from idle workers. If the server lost the
// queue (restarted without its store), workers and clients set it up again.
//
// The server is a stock nats-server with JetStream on, e.g. built from the
// module this package already requires:
//
//	go run github.com/nats-io/nats-server/v2@v2.15.3 -js -sd /var/lib/vkio-nats
//
// Package natstest starts one in-process for tests. The library reads no
// environment and logs only through Config.Logger.
package cluster
