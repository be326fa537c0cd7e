// Package activity writes the OperatorActivity ledger: one append-only row
// per meaningful operator action, for every endpoint, refusals included
// (docs/DOMAIN.md).
//
// Two ways in: InsertTx, for an action that has its own writes and must
// commit its ledger row in the same transaction; and Ledger.Record, which
// batches concurrent callers' rows into shared transactions (group commit)
// and returns once they are committed.
package activity

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Category classifies an action for auditors filtering the ledger.
type Category string

// The categories the table's CHECK constraint allows.
const (
	CategoryView               Category = "view"
	CategoryMutationProxy      Category = "mutation_proxy"
	CategoryLockAction         Category = "lock_action"
	CategoryAIDecision         Category = "ai_decision"
	CategoryAlertAck           Category = "alert_ack"
	CategorySyncHandshake      Category = "sync_handshake"
	CategoryPreferencesChanged Category = "preferences_changed"
	CategoryAuth               Category = "auth"
	CategoryOther              Category = "other"
)

// Categories lists every category, in the domain model's order.
func Categories() []Category {
	return []Category{
		CategoryView, CategoryMutationProxy, CategoryLockAction, CategoryAIDecision, CategoryAlertAck,
		CategorySyncHandshake, CategoryPreferencesChanged, CategoryAuth, CategoryOther,
	}
}

// Valid reports whether c is one of the categories.
func (c Category) Valid() bool {
	switch c {
	case CategoryView, CategoryMutationProxy, CategoryLockAction, CategoryAIDecision, CategoryAlertAck,
		CategorySyncHandshake, CategoryPreferencesChanged, CategoryAuth, CategoryOther:
		return true
	}
	return false
}

// Relaxed reports whether e's row may be committed without waiting for the
// disk flush (see Ledger): a successful or partial view. A view refused is
// an access attempt an auditor wants kept as firmly as any action, and
// every other category changes something.
func (e *Entry) Relaxed() bool {
	return e.Category == CategoryView && e.Outcome != OutcomeFailure
}

// Outcome is how the action ended.
type Outcome string

// The outcomes the table's CHECK constraint allows.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomePartial Outcome = "partial"
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool {
	return o == OutcomeSuccess || o == OutcomeFailure || o == OutcomePartial
}

// Ref names the resource an action touched, e.g. {Kind: "reservation",
// ID: "rsv_…"}.
type Ref struct {
	Kind string
	ID   string
}

// ErrorInfo is the error of a failed or partial action.
type ErrorInfo struct {
	Code    string // e.g. MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE
	Message string // optional; truncated to MaxErrorMessage characters
}

// Entry is one ledger row. Empty optional strings and nil pointers are
// stored as NULL.
type Entry struct {
	ID          string // act_<ULID>; generated when empty
	TenantID    string
	PropertyID  string // optional: an operator with no property scope still gets an auth row
	OperatorID  string
	DeviceID    string
	SessionID   string    // optional
	OccurredAt  time.Time // zero means now; stored at millisecond precision
	Category    Category
	Action      string // e.g. "reservation.check_in", "dashboard.viewed"
	Resource    *Ref   // optional
	Outcome     Outcome
	LatencyMs   int
	Error       *ErrorInfo // optional
	ContextHash string     // optional: hex SHA-256 of the action's context, for disputes
	RequestID   string
}

// Limits of the free-form fields; the table's CHECK constraints are the same.
const (
	MaxAction       = 128
	MaxResourceKind = 64
	MaxResourceID   = 256
	MaxErrorCode    = 128
	MaxErrorMessage = 1024
	MaxRequestID    = 128
)

// ErrInvalidEntry is wrapped by every validation error of Record and
// InsertTx. Such an entry is a bug in the caller, not the client's fault, so
// it is deliberately not an apperr VALIDATION_FAILED (it renders as INTERNAL).
var ErrInvalidEntry = errors.New("invalid activity entry")

// earliest and latest bound OccurredAt to instants that are plausible for a
// row written now and representable in Postgres.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// normalize returns e completed (ID, OccurredAt) and checked. Every rule
// the database enforces is checked here first, because a batch shares one
// statement: a row that reached the database and failed there would fail
// every other caller's rows with it.
func normalize(e Entry, now time.Time) (Entry, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	checkID := func(field string, p ids.Prefix, v string, optional bool) {
		if v == "" && optional {
			return
		}
		if err := ids.Check(p, v); err != nil {
			bad(field, "%v", err)
		}
	}
	text := func(field, v string, maxLen int) {
		switch {
		case v == "":
			bad(field, "is required")
		case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
			bad(field, "must be valid UTF-8 without NUL")
		case utf8.RuneCountInString(v) > maxLen:
			bad(field, "must be at most %d characters", maxLen)
		}
	}

	if e.ID == "" {
		e.ID = ids.New(ids.Activity)
	}
	checkID("id", ids.Activity, e.ID, false)
	checkID("tenantId", ids.Tenant, e.TenantID, false)
	checkID("propertyId", ids.Property, e.PropertyID, true)
	checkID("operatorId", ids.Operator, e.OperatorID, false)
	checkID("deviceId", ids.Device, e.DeviceID, false)
	checkID("sessionId", ids.Session, e.SessionID, true)

	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Millisecond)
	if e.OccurredAt.Before(earliest) || !e.OccurredAt.Before(latest) {
		bad("occurredAt", "%s is out of range", e.OccurredAt.Format(time.RFC3339))
	}

	if !e.Category.Valid() {
		bad("category", "%q is not a category", e.Category)
	}
	text("action", e.Action, MaxAction)
	if e.Resource != nil {
		r := *e.Resource
		e.Resource = &r
		text("resource.kind", r.Kind, MaxResourceKind)
		text("resource.id", r.ID, MaxResourceID)
	}
	if !e.Outcome.Valid() {
		bad("outcome", "%q is not an outcome", e.Outcome)
	}
	if e.LatencyMs < 0 || e.LatencyMs > math.MaxInt32 {
		bad("latencyMs", "must be 0..%d", math.MaxInt32)
	}
	if e.Error != nil {
		ei := *e.Error
		text("error.code", ei.Code, MaxErrorCode)
		// The message is free text from upstreams; clean it rather than
		// lose the row over it.
		ei.Message = cleanText(ei.Message, MaxErrorMessage)
		e.Error = &ei
	}
	if e.ContextHash != "" && !isSHA256Hex(e.ContextHash) {
		bad("contextHash", "must be 64 lower-case hex digits")
	}
	text("requestId", e.RequestID, MaxRequestID)

	if len(errs) > 0 {
		return Entry{}, fmt.Errorf("%w: %w", ErrInvalidEntry, errors.Join(errs...))
	}
	return e, nil
}

// normalizeAll checks every entry before any is written, so a call is
// all-or-nothing.
func normalizeAll(entries []Entry, now time.Time) ([]Entry, error) {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		n, err := normalize(e, now)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out[i] = n
	}
	return out, nil
}

func cleanText(s string, maxLen int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if utf8.RuneCountInString(s) <= maxLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxLen])
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
