// Package idempotency makes mutating POSTs safe to replay. The desktop
// client's offline outbox sends every mutation with an Idempotency-Key and
// resends it, with the same key and body, until it gets an answer; this
// layer runs the handler once per key and answers every later copy with the
// stored response, byte for byte, without running the handler again
// (docs/DOMAIN.md, "Offline replay").
//
// # Wiring
//
// Store.Do is the record logic, over a plain Request (key, method, URL,
// body) and the actor; it runs an Action at most once and replays its
// Response. The HTTP edge is idemhttp:
//
//	store, err := idempotency.NewStore(ctx, projectID, idempotency.Options{})
//	routes := map[string]gate.Handler{"POST /v1/…": idemhttp.Wrap(store, h)}
//
// Wrap sits inside the gate, so the actor is known; the activity row of
// the run that executes is committed before its answer is stored (a ledger
// failure releases the key). Replays, 409s and 422s run no handler and so
// record no row: the action was recorded when it ran.
//
// # Answers
//
//   - no Idempotency-Key → 400 IDEMPOTENCY_KEY_REQUIRED; a key that is not
//     1–255 printable ASCII characters, or two Idempotency-Key headers → 400
//     VALIDATION_FAILED. The key is opaque: an RFC 8941 quoted string is
//     taken with its quotes.
//   - a body over 1 MiB → 413 PAYLOAD_TOO_LARGE, nothing stored.
//   - first request → the handler runs; its response is stored and sent.
//   - same key, same request, completed → the stored status, headers and
//     body, plus "Idempotent-Replayed: true".
//   - same key, same request, still running → 409 IDEMPOTENCY_IN_FLIGHT
//     with Retry-After (seconds left on the lease).
//   - same key, another request → 422 IDEMPOTENCY_KEY_REUSED.
//   - Firestore unreachable or slower than Options.Timeout → 503
//     UPSTREAM_UNAVAILABLE before the handler runs: a mutation that cannot
//     be made idempotent is not run.
//
// "Same request" is the fingerprint: SHA-256 over the operator id, the
// method, the path with its query (parameters sorted), and the body — a
// body that is one JSON value is canonicalised first (object keys sorted,
// insignificant whitespace dropped, string escapes normalised, number
// literals kept as written), so a client that re-serialises its queued
// action differently is still recognised; any other body counts as raw
// bytes. The operator is part of it so that on a shared front-desk PC one
// operator can never read another's stored answer: their retry is a 422.
//
// # What is stored, and what is released
//
// The handler's response is the result, errors included: a 409
// DECISION_ALREADY_RECORDED or a 400 VALIDATION_FAILED is replayed as is.
// Its problem+json is stored as the gate renders it, so a replay carries
// the requestId of the request that ran (X-Request-Id of the replay is its
// own; logs of the original run are found by the body's requestId).
// Headers kept: everything the handler put in Result.Header except the
// ones the pipeline sets per request (X-Request-Id, X-Session-Id — the
// replay gets the current session's — Content-Length, Cache-Control, …),
// plus the Content-Type of the body.
//
// Released instead (the record is deleted, so the client's next retry runs
// the handler again): 5xx and UPSTREAM_UNAVAILABLE (transient; unlike
// Stripe we let the outbox retry them), 429 RATE_LIMITED, 401, and
// MFA_REQUIRED / MFA_ATTESTATION_INVALID — the attestation travels in a
// header outside the fingerprint, so the retry that brings one must run.
//
// # Firestore layout (for on-call)
//
// Collection "idempotency", document id "<tenantId>_<deviceId>_<hex
// SHA-256 of the key>" (ids cannot hold "/"; hashing also bounds the
// length). Fields: tenantId, deviceId, operatorId, key, fingerprint, method,
// path, state, owner, attempt, requestId, createdAt, expireAt, leaseUntil
// (in flight only), completedAt and response {status, header, body (bytes)}
// (completed only).
//
// States:
//
//   - in_flight: a request runs the handler. Its lease (leaseUntil,
//     Options.Lease, 30 s by default) is renewed every third of the lease
//     while the handler runs. A retry within the lease gets 409; after it
//     (the instance died) one retry takes the record over — an update
//     conditioned on the record's update time, so concurrent retries race
//     and exactly one wins — and runs the handler again (attempt + 1). A
//     record stuck in_flight therefore clears itself on the next retry after
//     leaseUntil; deleting it by hand does the same at once. A handler that
//     panics leaves its record this way too (answered 500 by httpx.Wrap).
//     Leases are compared with the instances' clocks, which Cloud Run keeps
//     far closer than 30 s.
//   - completed: response is set and is replayed until expireAt.
//
// Every write of the running request (renewal, completion, release) is
// conditioned on the update time of its previous write: a request whose
// record was taken over finds out, logs "idempotency record lost", and does
// not overwrite the taker's record.
//
// expireAt is the first request + 7 days (Options.Retention). Terraform
// (terraform/firestore.tf) sets a TTL policy on expireAt of the collection
// group "idempotency", which deletes expired records only eventually (up to
// a day late; the emulator may never), so the code treats a record past
// expireAt as absent and replaces it.
//
// A document holds at most 1 MiB, so a response body near that size cannot
// be stored ("idempotency record not completed" below); mutations here
// answer a few KiB.
//
// Log lines worth knowing:
//
//   - "idempotency record lost" (ERROR): the record was taken over while
//     this request still ran — renewals failed or the handler outlived the
//     lease — so the action may have run twice; look for a slow upstream
//     or Firestore errors just before.
//   - "idempotency record not completed" (ERROR): Firestore failed after
//     the handler ran; the client got its answer, but a retry after the
//     lease runs the action again.
//   - "idempotency record not released" (WARN): a transient answer's key
//     stays blocked until its lease ends.
//   - "idempotency lease renewal failed" (WARN), "idempotency lease
//     expired, taking over" (INFO, with the previous requestId), and
//     "idempotency record unreadable, replacing it" (WARN).
package idempotency
