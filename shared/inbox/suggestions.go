package inbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// MaxNotes is how much of a decision's notes is kept, in characters;
// longer notes are cut, not refused: the operator's decision matters more
// than the tail of a comment typed on a busy shift.
const MaxNotes = 500

// Inbox statuses of a suggestion.
const (
	StatusOpen    = "open"
	StatusDecided = "decided"
	StatusExpired = "expired"
	StatusAll     = "all"
)

// Decision is an operator's decision on a suggestion, written once: the
// first decision wins.
type Decision struct {
	Outcome       aiorchestrator.Outcome `json:"outcome"`
	ModifiedDelta json.RawMessage        `json:"modifiedDelta,omitempty"`
	Notes         string                 `json:"notes,omitempty"`
}

// SuggestionEntry is an AISuggestionInboxEntry: the upstream suggestion,
// its inbox id, and the decision once one is recorded.
type SuggestionEntry struct {
	ID              string                     `json:"id"`
	SuggestionID    string                     `json:"suggestionId"`
	TenantID        string                     `json:"tenantId"`
	PropertyID      string                     `json:"propertyId"`
	Category        aiorchestrator.Category    `json:"category"`
	Severity        aiorchestrator.Severity    `json:"severity"`
	CreatedAt       jsontime.Time              `json:"createdAt"`
	ExpiresAt       jsontime.Time              `json:"expiresAt"`
	Title           string                     `json:"title"`
	Body            string                     `json:"body,omitempty"`
	Proposal        json.RawMessage            `json:"proposal,omitempty"`
	Provenance      *aiorchestrator.Provenance `json:"provenance"`
	Status          string                     `json:"status"`
	Decision        *Decision                  `json:"decision,omitempty"`
	DecidedBy       string                     `json:"decidedBy,omitempty"`
	DecidedAt       jsontime.Time              `json:"decidedAt,omitzero"`
	DecidedDeviceID string                     `json:"decidedDeviceId,omitempty"`
}

// SuggestionList is GET /v1/ai/suggestions.
type SuggestionList = List[SuggestionEntry]

// Deps are what the inboxes use. AI is needed by the suggestion inbox,
// Notification by the alert inbox; DB and Relay only by the functions that
// read or write the logs.
type Deps struct {
	Redis *redisx.Client
	DB    *pg.DB
	Relay *outbox.Relay
	AI    *aiorchestrator.Client
	// Notify tells the property's desktops that an inbox changed
	// (devicestream.AppendProperty); nil sends nothing.
	Notify Notifier
	Now    func() time.Time
	// Forward bounds the call that hands a decision to
	// ai-orchestrator-service after it was recorded (default 2 s).
	Forward time.Duration
	// Cursors sign the lists' page cursors; the functions that only apply
	// events leave it nil.
	Cursors *listcursor.Codec
}

// Notifier pushes a live event to the desktops of a property.
type Notifier func(ctx context.Context, tenantID, propertyID, typ string, data any) error

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Suggestions is the AI suggestion inbox. One per instance.
type Suggestions struct {
	d  Deps
	m  mirror
	sf singleflight.Group
}

// NewSuggestions returns the inbox over d.
func NewSuggestions(d Deps) *Suggestions {
	s := &Suggestions{d: d}
	s.m = suggestionKind.mirror(d.Redis, "aiinbox", s.d.now)
	return s
}

// suggestionKind is ai-orchestrator-service's suggestions to the inbox
// machinery. Its client maps categories its model does not know to other
// anyway.
var suggestionKind = itemKind[aiorchestrator.Suggestion]{
	name: "ai",
	categories: []string{
		string(aiorchestrator.CategoryOverbookingWarning), string(aiorchestrator.CategoryRateChange),
		string(aiorchestrator.CategoryHousekeepingReorder), string(aiorchestrator.CategoryMaintenancePriority),
		string(aiorchestrator.CategoryGuestSpecialHandling), string(aiorchestrator.CategoryStaffing),
		string(aiorchestrator.CategoryAuditAnomaly), string(aiorchestrator.CategoryOther),
	},
	known:  func(c string) bool { return aiorchestrator.Category(c).Valid() },
	other:  string(aiorchestrator.CategoryOther),
	rights: access.Suggestion,
	describe: func(tenantID string, sg aiorchestrator.Suggestion) (string, string) {
		return entryOf(tenantID, sg).ID, string(sg.Category)
	},
}

// entryOf is the inbox entry of a cleaned upstream suggestion.
func entryOf(tenantID string, s aiorchestrator.Suggestion) SuggestionEntry {
	return SuggestionEntry{
		ID: EntryID(ids.AISuggestion, tenantID, s.SuggestionID, s.CreatedAt.Time), SuggestionID: s.SuggestionID,
		TenantID: tenantID, PropertyID: s.PropertyID, Category: s.Category, Severity: s.Severity,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, Title: s.Title, Body: s.Body, Proposal: s.Proposal,
		Provenance: s.Provenance,
	}
}

// Put mirrors suggestions of a property (an event, or a read-through).
func (s *Suggestions) Put(ctx context.Context, tenantID, propertyID string, items []aiorchestrator.Suggestion, loaded bool) (err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Put(%s)", propertyID)
	return putItems(ctx, s.m, tenantID, propertyID, items, loaded, func(it aiorchestrator.Suggestion) (item, error) {
		b, err := json.Marshal(it)
		// Undecided, it is of no use a day past its expiry.
		leaves := it.ExpiresAt.Add(ExpiredKeep)
		if bound := s.d.now().Add(openKeep); bound.Before(leaves) {
			leaves = bound
		}
		return item{upstreamID: it.SuggestionID, entryID: entryOf(tenantID, it).ID, category: string(it.Category), json: b, leaves: leaves}, err
	})
}

// Invalidate drops a suggestion from the inbox for good, even one whose
// creation has not arrived yet.
func (s *Suggestions) Invalidate(ctx context.Context, tenantID, propertyID, suggestionID string, at time.Time) (err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Invalidate(%s)", suggestionID)
	return s.m.end(ctx, tenantID, propertyID, suggestionID, at)
}

// load makes sure the property's mirror is filled, reading through to
// ai-orchestrator-service when it has not done so recently.
func (s *Suggestions) load(ctx context.Context, tenantID, propertyID string) error {
	return loadThrough(ctx, s.m, &s.sf, tenantID, propertyID, func() ([]aiorchestrator.Suggestion, error) {
		return s.d.AI.Suggestions(ctx, tenantID, propertyID, aiorchestrator.StatusAll)
	}, s.Put)
}

// page reads one page of a's AI inbox as r asks: displayable entries of
// the categories a may see, with their decisions, in r.status; an entry
// past its retention is not listed, whether or not a write has pruned it
// yet.
func (s *Suggestions) page(ctx context.Context, a actor.Actor, r pageReq) ([]SuggestionEntry, string, error) {
	if err := s.load(ctx, a.TenantID, r.propertyID); err != nil {
		return nil, "", err
	}
	now := s.d.now()
	return walk(ctx, s.m, a.TenantID, r, func(batch []stored) ([]SuggestionEntry, error) {
		entries, upIDs := listed(ctx, suggestionKind, a.TenantID, batch, a.Roles, func(st stored, sg aiorchestrator.Suggestion) (SuggestionEntry, bool) {
			// An invalidated suggestion is gone; advice is shown only with
			// where it comes from, so an operator can weigh it before acting.
			return entryOf(a.TenantID, sg), st.ended.IsZero() && sg.Displayable()
		})
		decided, err := s.decisions(ctx, a.TenantID, r.propertyID, upIDs)
		if err != nil {
			return nil, err
		}
		out := make([]SuggestionEntry, 0, len(entries))
		for _, e := range entries {
			if d, ok := decided[e.SuggestionID]; ok {
				if now.Sub(d.DecidedAt) > DecidedKeep {
					continue
				}
				e.apply(d)
			} else if now.Before(e.ExpiresAt.Time) {
				e.Status = StatusOpen
			} else {
				if now.Sub(e.ExpiresAt.Time) > ExpiredKeep {
					continue
				}
				e.Status = StatusExpired
			}
			if r.status == StatusAll || r.status == e.Status {
				out = append(out, e)
			}
		}
		return out, nil
	}, func(e SuggestionEntry) string { return e.ID })
}

// recorded is a row of the decision log.
type recorded struct {
	ID, PropertyID, SuggestionID string
	Decision                     Decision
	DecidedBy, DecidedDeviceID   string
	DecidedAt                    time.Time
}

func (e *SuggestionEntry) apply(d recorded) {
	dec := d.Decision
	e.Status = StatusDecided
	e.Decision = &dec
	e.DecidedBy, e.DecidedDeviceID, e.DecidedAt = d.DecidedBy, d.DecidedDeviceID, jsontime.Of(d.DecidedAt)
}

const decisionColumns = `id, property_id, suggestion_id, outcome, modified_delta, coalesce(notes, ''), decided_by, decided_device_id, decided_at`

func scanDecision(row pgx.Row) (recorded, error) {
	var (
		d     recorded
		delta []byte
	)
	err := row.Scan(&d.ID, &d.PropertyID, &d.SuggestionID, &d.Decision.Outcome, &delta, &d.Decision.Notes,
		&d.DecidedBy, &d.DecidedDeviceID, &d.DecidedAt)
	if len(delta) > 0 {
		d.Decision.ModifiedDelta = delta
	}
	return d, err
}

// decisions reads the recorded decisions on the given suggestions.
func (s *Suggestions) decisions(ctx context.Context, tenantID, propertyID string, suggestionIDs []string) (map[string]recorded, error) {
	return rowsOf(ctx, s.d.DB, tenantID, "decisions", `SELECT `+decisionColumns+` FROM bff.ai_decision
			WHERE tenant_id = $1 AND property_id = $2 AND suggestion_id = ANY($3)`, suggestionIDs,
		func(rows pgx.Rows) (string, recorded, error) {
			d, err := scanDecision(rows)
			return d.SuggestionID, d, err
		}, tenantID, propertyID)
}

// find resolves an entry id to its displayable suggestion.
func (s *Suggestions) find(ctx context.Context, tenantID, entryID string, scope []string) (aiorchestrator.Suggestion, error) {
	sg, ended, ok, err := suggestionKind.find(ctx, s.m, tenantID, entryID, scope, s.load)
	switch {
	case err != nil:
		return aiorchestrator.Suggestion{}, err
	case !ok || !ended.IsZero() || !sg.Displayable():
		return aiorchestrator.Suggestion{}, apperr.New(apperr.NotFound, "no AI suggestion %s", entryID)
	}
	return sg, nil
}

// DecisionRequest is the body of POST /v1/ai/suggestions/{aimId}/decision.
type DecisionRequest struct {
	Outcome       aiorchestrator.Outcome `json:"outcome"`
	ModifiedDelta json.RawMessage        `json:"modifiedDelta,omitempty"`
	Notes         *string                `json:"notes,omitempty"`
}

func (r *DecisionRequest) validate() (Decision, error) {
	var fe []apperr.FieldError
	if !r.Outcome.Valid() {
		fe = append(fe, apperr.FieldError{Field: "outcome", Message: `must be "accepted", "rejected" or "modified"`})
	}
	delta := r.ModifiedDelta
	if string(delta) == "null" {
		delta = nil
	}
	switch {
	case delta != nil && (len(delta) == 0 || delta[0] != '{'):
		fe = append(fe, apperr.FieldError{Field: "modifiedDelta", Message: "must be a JSON object"})
	case r.Outcome == aiorchestrator.OutcomeModified && delta == nil:
		fe = append(fe, apperr.FieldError{Field: "modifiedDelta", Message: `is required when outcome is "modified"`})
	case r.Outcome != aiorchestrator.OutcomeModified && delta != nil && r.Outcome.Valid():
		fe = append(fe, apperr.FieldError{Field: "modifiedDelta", Message: `is only allowed when outcome is "modified"`})
	case len(delta) > 16<<10:
		fe = append(fe, apperr.FieldError{Field: "modifiedDelta", Message: "must be at most 16 KiB"})
	}
	if len(fe) > 0 {
		return Decision{}, apperr.Validation(fe...)
	}
	d := Decision{Outcome: r.Outcome, ModifiedDelta: delta}
	if r.Notes != nil {
		d.Notes = truncateRunes(*r.Notes, MaxNotes)
	}
	return d, nil
}

// truncateRunes cuts s to n characters without splitting one; invalid
// UTF-8 (which JSON decoding already replaced) cannot occur.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// decidedEvent is the data of ai_suggestion.decided.v1: telemetry, so no
// notes text (free text may name guests) — only whether there were any.
type decidedEvent struct {
	EntryID         string                  `json:"entryId"`
	SuggestionID    string                  `json:"suggestionId"`
	Category        aiorchestrator.Category `json:"category"`
	Severity        aiorchestrator.Severity `json:"severity"`
	Outcome         aiorchestrator.Outcome  `json:"outcome"`
	Modified        bool                    `json:"hasModifiedDelta"`
	HasNotes        bool                    `json:"hasNotes"`
	DecidedBy       string                  `json:"decidedBy"`
	DecidedDeviceID string                  `json:"decidedDeviceId"`
	DecidedAt       jsontime.Time           `json:"decidedAt"`
	ModelClass      string                  `json:"modelClass,omitempty"`
}

// Decide records a's decision on entry aimID, once: the entry with its
// decision; 409 DECISION_ALREADY_RECORDED when one is recorded (by anyone,
// on any device); 410 SUGGESTION_EXPIRED past expiresAt; 404 when the inbox
// does not show it; 403 PROPERTY_OUT_OF_SCOPE when its property is not a's,
// 403 FORBIDDEN_ROLE when a's roles may not see its category.
// The decision, its activity row and its event commit in one transaction
// (the returned note is then Recorded); the event is then relayed, the
// decision forwarded to ai-orchestrator-service, and the property's
// desktops told. On failure the note is returned unrecorded, for the
// caller to record the failure.
func (s *Suggestions) Decide(ctx context.Context, a actor.Actor, aimID string, req DecisionRequest) (_ SuggestionEntry, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Decide(%s)", aimID)
	note := activity.Note{Category: activity.CategoryAIDecision, Action: activity.ActionAISuggestionDecide, Resource: &activity.Ref{Kind: "ai_suggestion", ID: aimID}}
	if err := ids.Check(ids.AISuggestion, aimID); err != nil {
		return SuggestionEntry{}, note, apperr.Validation(apperr.FieldError{Field: "aimId", Message: err.Error()})
	}
	dec, err := req.validate()
	if err != nil {
		return SuggestionEntry{}, note, err
	}
	sg, err := s.find(ctx, a.TenantID, aimID, a.PropertyScope)
	if err != nil {
		return SuggestionEntry{}, note, err
	}
	// Deciding needs the rights that seeing it needs (a rate change needs
	// revenue rights), checked before anything is written or forwarded.
	if err := suggestionKind.authorize(a, &note, sg.PropertyID, string(sg.Category)); err != nil {
		return SuggestionEntry{}, note, err
	}
	now := s.d.now()
	entry := entryOf(a.TenantID, sg)
	rec := recorded{ID: aimID, PropertyID: sg.PropertyID, SuggestionID: sg.SuggestionID, Decision: dec,
		DecidedBy: a.OperatorID, DecidedDeviceID: a.DeviceID, DecidedAt: jsontime.Of(now).Time}
	err = s.d.commit(ctx, a, &note, events.AISuggestionDecided, sg.PropertyID, decidedEvent{
		EntryID: aimID, SuggestionID: sg.SuggestionID, Category: sg.Category, Severity: sg.Severity,
		Outcome: dec.Outcome, Modified: dec.ModifiedDelta != nil, HasNotes: dec.Notes != "",
		DecidedBy: a.OperatorID, DecidedDeviceID: a.DeviceID, DecidedAt: jsontime.Of(now),
		ModelClass: string(sg.Provenance.ModelClass),
	}, func(ctx context.Context, tx pgx.Tx) error {
		// Already decided wins over expired: it says what happened.
		existing, err := scanDecision(tx.QueryRow(ctx, `SELECT `+decisionColumns+` FROM bff.ai_decision
			WHERE tenant_id = $1 AND suggestion_id = $2`, a.TenantID, sg.SuggestionID))
		switch {
		case err == nil:
			return decidedAlready(existing)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		case !now.Before(sg.ExpiresAt.Time):
			return apperr.New(apperr.SuggestionExpired, "the suggestion expired at %s", jsontime.Format(sg.ExpiresAt.Time))
		}
		var notes *string
		if dec.Notes != "" {
			notes = &dec.Notes
		}
		var delta []byte
		if dec.ModifiedDelta != nil {
			delta = dec.ModifiedDelta
		}
		// Taken here means a concurrent decision committed between our
		// read and insert: the unique key made it the only one.
		taken := apperr.New(apperr.DecisionAlreadyRecorded, "a decision on this suggestion is already recorded")
		return insertOnce(ctx, tx, taken, `INSERT INTO bff.ai_decision
			(id, tenant_id, property_id, suggestion_id, outcome, modified_delta, notes,
			 decided_by, decided_device_id, session_id, decided_at, request_id)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12)
			ON CONFLICT DO NOTHING`,
			aimID, a.TenantID, sg.PropertyID, sg.SuggestionID, string(dec.Outcome), delta, notes,
			a.OperatorID, a.DeviceID, a.SessionID, rec.DecidedAt, a.RequestID)
	})
	if err != nil {
		return SuggestionEntry{}, note, err
	}
	s.m.leaveAt(ctx, a.TenantID, sg.PropertyID, sg.SuggestionID, rec.DecidedAt.Add(DecidedKeep))
	s.forward(ctx, a.TenantID, rec)
	s.notify(ctx, a.TenantID, sg.PropertyID, map[string]any{"propertyId": sg.PropertyID, "entryId": aimID, "reason": "decided", "category": sg.Category})
	entry.apply(rec)
	return entry, note, nil
}

func decidedAlready(d recorded) error {
	return apperr.New(apperr.DecisionAlreadyRecorded, "a decision (%s) on this suggestion was recorded at %s", d.Decision.Outcome, jsontime.Format(d.DecidedAt))
}

// forward hands the decision to ai-orchestrator-service and marks it
// forwarded. The decision is already recorded and answered 201 whatever
// happens here: a failure is logged and leaves forwarded_at empty for the
// decision-forward job (RetryForwards); the service deduplicates by
// decisionId.
func (s *Suggestions) forward(ctx context.Context, tenantID string, d recorded) {
	if s.d.AI == nil {
		return
	}
	timeout := cmp.Or(s.d.Forward, 2*time.Second)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := s.d.AI.RecordDecision(fctx, tenantID, d.PropertyID, d.SuggestionID, decisionOf(d))
	log := logging.From(ctx)
	if err != nil {
		log.WarnContext(ctx, "ai decision not forwarded", "entryId", d.ID, "suggestionId", d.SuggestionID, "err", err)
		return
	}
	err = s.d.DB.InTenantTx(fctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE bff.ai_decision SET forwarded_at = now()
			WHERE tenant_id = $1 AND id = $2 AND forwarded_at IS NULL`, tenantID, d.ID)
		return err
	})
	if err != nil {
		log.WarnContext(ctx, "ai decision forwarded but not marked", "entryId", d.ID, "err", err)
	}
}

func (s *Suggestions) notify(ctx context.Context, tenantID, propertyID string, data any) {
	notify(ctx, s.d.Notify, tenantID, propertyID, TypeAIInboxChanged, data)
}

// Live event types (devicestream's), repeated so this package needs no
// import of the stream for its constants.
const (
	TypeAIInboxChanged    = "aiInboxChanged"
	TypeAlertInboxChanged = "alertInboxChanged"
)

// notify pushes a live event, best effort: the desktops also refresh
// their inboxes on their own, so a failure is only logged. The data names
// the entry's category where it is known, so each live stream can withhold
// it from roles that may not see that category (shared/livestream).
func notify(ctx context.Context, n Notifier, tenantID, propertyID, typ string, data any) {
	if n == nil {
		return
	}
	if err := n(context.WithoutCancel(ctx), tenantID, propertyID, typ, data); err != nil {
		logging.From(ctx).WarnContext(ctx, "live event not pushed", "type", typ, "propertyId", propertyID, "err", err)
	}
}
