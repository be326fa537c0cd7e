package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// The guard on app.tenant_id turns "this transaction is not the events'
// tenant" (or has no tenant at all) into zero rows inserted, which Add
// reports clearly and which leaves the caller's transaction usable; RLS
// would refuse the same rows, but with an error that aborts the transaction
// and names no tenant.
const insertSQL = `INSERT INTO bff.outbox (id, tenant_id, subject, envelope)
SELECT e.id, e.tenant_id, e.subject, e.envelope
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) AS e(id, tenant_id, subject, envelope)
 WHERE e.tenant_id = NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')`

// Add stores evs in the caller's tenant transaction (one opened by
// pg.DB.InTenantTx): they commit or roll back with the write they accompany.
// Every envelope must be valid (events.Envelope.Validate) and belong to the
// transaction's tenant. After the commit, pass the same envelopes to
// Relay.Send.
func Add(ctx context.Context, tx pgx.Tx, evs ...events.Envelope) (err error) {
	defer derrors.Wrap(&err, "outbox.Add(%d events)", len(evs))
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	idList, tenants, subjects := make([]string, n), make([]string, n), make([]string, n)
	envelopes := make([][]byte, n)
	for i, e := range evs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("event %d (%s): %w", i, e.ID, err)
		}
		if e.TenantID != evs[0].TenantID {
			return fmt.Errorf("events of tenants %s and %s in one transaction", evs[0].TenantID, e.TenantID)
		}
		// Marshalled once here so that Send's publish and the relay's send
		// the same bytes (the publisher marshals the decoded envelope to
		// exactly these).
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("event %s: marshal: %w", e.ID, err)
		}
		idList[i], tenants[i], subjects[i], envelopes[i] = e.ID, e.TenantID, e.Subject, b
	}
	tag, err := tx.Exec(ctx, insertSQL, idList, tenants, subjects, envelopes)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != int64(n) {
		return fmt.Errorf("the transaction's tenant is not %s (open it with pg.DB.InTenantTx for that tenant)", evs[0].TenantID)
	}
	return nil
}

// Defaults of Options.
const (
	// A request waits for this at most; the outbox keeps what is late.
	DefaultPublishTimeout = 2 * time.Second
	DefaultCleanupTimeout = 2 * time.Second
)

// Options tunes a Relay. The zero value is ready to use.
type Options struct {
	// PublishTimeout bounds Send's wait for Pub/Sub.
	PublishTimeout time.Duration
	// CleanupTimeout bounds Send's delete of the published rows.
	CleanupTimeout time.Duration
}

// Relay publishes outbox rows right after their transaction committed. One
// per instance; safe for concurrent use.
type Relay struct {
	db  *pg.DB
	pub events.Publisher
	log *slog.Logger
	o   Options
}

// NewRelay returns a relay that publishes with pub and deletes published
// rows through db (the app role). A nil log means the logger in each call's
// context.
func NewRelay(db *pg.DB, pub events.Publisher, log *slog.Logger, o Options) *Relay {
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = DefaultCleanupTimeout
	}
	return &Relay{db: db, pub: pub, log: log, o: o}
}

// Send publishes evs (already committed by Add) with a bounded wait
// (Options.PublishTimeout), then deletes their rows in a tenant transaction.
// It never fails the caller: what could not be published stays in the
// outbox for the outbox-relay job, logged.
//
// It does not stop when ctx is cancelled (a client that went away): the
// events are committed facts, and publishing them now spares the relay the
// work. Its waits are bounded by Options instead.
func (r *Relay) Send(ctx context.Context, tenantID string, evs ...events.Envelope) {
	if len(evs) == 0 {
		return
	}
	log := r.logger(ctx)
	ctx = context.WithoutCancel(ctx)
	pctx, cancel := context.WithTimeout(ctx, r.o.PublishTimeout)
	err := r.pub.Publish(pctx, evs...)
	cancel()
	published, failed := split(evs, err)
	if len(failed) > 0 {
		log.WarnContext(ctx, "outbox: events left for outbox-relay",
			slog.String("tenantId", tenantID),
			slog.Int("count", len(failed)),
			slog.Any("eventIds", failed),
			slog.String("err", err.Error()))
	}
	if len(published) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, r.o.CleanupTimeout)
	defer cancel()
	err = r.db.InTenantTx(dctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		// A relay run holding one of these rows (it publishes them too) is
		// not worth waiting for: it deletes them itself when it commits.
		b := &pgx.Batch{}
		b.Queue("SELECT pg_catalog.set_config('lock_timeout', '500ms', true)")
		b.Queue("DELETE FROM bff.outbox WHERE id = ANY($1)", published)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		log.WarnContext(ctx, "outbox: published events not removed; outbox-relay will publish them again",
			slog.String("tenantId", tenantID),
			slog.Int("count", len(published)),
			slog.Any("eventIds", published),
			slog.String("err", err.Error()))
	}
}

func (r *Relay) logger(ctx context.Context) *slog.Logger {
	if r.log != nil {
		return r.log
	}
	return logging.From(ctx)
}

// failedSet is implemented by pubsubevents.PublishError, which says which
// events of a call failed; matching the method rather than the type keeps
// the Pub/Sub client out of packages that only Add.
type failedSet interface {
	Failed(eventID string) bool
}

// split sorts the ids of evs into published and failed after Publish
// returned err. An error that does not say which events failed fails all.
func split(evs []events.Envelope, err error) (published, failed []string) {
	if err == nil {
		published = make([]string, len(evs))
		for i, e := range evs {
			published[i] = e.ID
		}
		return published, nil
	}
	var fs failedSet
	partial := errors.As(err, &fs)
	for _, e := range evs {
		if partial && !fs.Failed(e.ID) {
			published = append(published, e.ID)
		} else {
			failed = append(failed, e.ID)
		}
	}
	return published, failed
}

// maxErrorLen matches the column's CHECK (characters).
const maxErrorLen = 1024

func truncate(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= maxErrorLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxErrorLen-1]) + "…"
}
