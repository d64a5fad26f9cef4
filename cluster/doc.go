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
//	bucket  <P>_objects  object store, TTL Retention "out/<id>/<run>/<name>" outputs
//	bucket  <P>_inputs   object store, no TTL    "in/<id>/<nonce>" large job bodies
//	bucket  <P>_attempts key-value, TTL Retention runs started per job ID
//	                                                ("<count> <run> <run>...")
//	subject <p>.events.<id> (core NATS, not stored) live output chunks
//
// where <P> and <p> are Config.Prefix.
//
// Delivery is at least once; the worker makes it exactly once in effect:
//
//  1. Before running a job it reads the results stream: if a final result for
//     the ID is already durable (a worker died between saving and acking), the
//     job is acked and not run again.
//  2. Outputs are saved under names unique to the run that stores them
//     ("out/<id>/<run>/<name>"), so the final Result refers to exactly the
//     objects its run made: a run that lost a race (its job was redelivered
//     and finished elsewhere) cannot replace them. Its Output.Put fails with
//     ErrAlreadyDone once a final result exists, and whatever it stored
//     before is deleted when it ends, as are the outputs of a run that
//     failed and is retried or is given back. A run that crashed cannot
//     clean up: its ID stays in the job's attempts record (see 4), and when
//     the job's final result is stored its objects of the same names as the
//     result's outputs are deleted (any others expire with Retention).
//  3. The final result is published to the results stream with
//     Nats-Msg-Id "result-<id>" and an expected-last-subject-sequence of 0, so
//     the first final result wins and duplicates are dropped; only after its
//     publish ack does the worker ack the job (a double ack, confirmed by the
//     server).
//  4. Runs are counted per job ID in the <P>_attempts bucket: +1 when a run
//     starts, -1 when a stopping worker gives the job back undone (so
//     rolling restarts do not use up the limit, as the message's delivery
//     count would). A job whose handler fails is negatively acked with a
//     delay and retried; on its last allowed run (Config.MaxDeliver) it is
//     dead-lettered: a record on <p>.dead.<id> and a final Result with status
//     "dead-letter", so waiting submitters return; then the message is
//     terminated (Term, which also raises the server's MSG_TERMINATED
//     advisory). A job whose workers crash (or hang past AckWait) is
//     redelivered by the server with its runs still counted; the worker that
//     would start a run beyond the limit dead-letters it without running it.
//     The consumer itself has no MaxDeliver, so no job is ever stranded in
//     the queue without a final result.
//
// A result record (the handler's data and the references to its outputs,
// JSON without HTML escaping) must fit the server's max_payload: one that
// does not ends the job at once with status "failed" ("result record too
// large"). Should publishing a final record fail otherwise, the job is
// negatively acked with a delay (and logged) and its next delivery runs it
// again, not counted against the limit.
//
// Large job bodies are stored by Submit under a name of their own per
// submission ("in/<id>/<nonce>"), so a re-submit of a queued ID (reported
// as Receipt.Duplicate) never changes the queued job's body; the duplicate's
// object is deleted. Inputs, like queued jobs, do not expire: a job's input
// object is deleted when the job ends (its final result is durable). An
// input stored by a Submit whose publish then failed without an answer
// stays (the job may be queued); results, dead-letter records, outputs and
// attempt records expire after Config.Retention.
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
