// Package inbox holds the two operator inboxes of a property: the AI
// suggestions of ai-orchestrator-service and the alerts of
// notification-service.
//
// Both are mirrored in Redis from the upstreams' events (with a read-through
// when the mirror of a property is cold). Entries carry ids this service
// derives from the upstream item (aim_…, ali_…, see EntryID), so the id a
// desktop holds survives a rebuild of the mirror. What an
// operator does to an entry is written once in Postgres, in the same
// transaction as its activity row and its outbox event: a decision on a
// suggestion (the first one wins; RetryForwards passes it on to
// ai-orchestrator-service) and an acknowledgement of an alert (one per
// operator). The rules are in docs/DOMAIN.md.
package inbox
