// Package durability holds the tests of what a database server crash can
// take from the activity ledger, run against a cluster of their own that
// they crash and restart (localstack.StartPostgres); the README's
// durability table states the same bounds.
package durability
