// Package folioaction is the folio mutations the BFF proxies to
// folio-service: adjustments and refunds, in integer minor units.
//
// In order, before anything is posted: the body is validated, the folio
// looked up (folio-service) and its property checked against the
// session's scope, the role matrix applied (adjustments: desk actions;
// refunds: override), and step-up MFA spent where it is due — every
// refund (scope refund), and an adjustment whose absolute amount exceeds
// the tenant's threshold (tenant-service config; scope
// large_folio_adjust). The request's Idempotency-Key, bound to tenant and
// device, becomes folio-service's idempotency key, so a retry whose first
// answer was lost posts nothing twice. folio-service's refusals map to
// this service's codes without its text; the activity row
// (mutation_proxy) records the outcome.
package folioaction

import (
	"context"
	"errors"
	"regexp"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/folio"
)

// Kinds of posting, as the path names them.
const (
	KindAdjustments = "adjustments"
	KindRefunds     = "refunds"
)

// MaxAmountMinor bounds an amount: ten million in major units of a
// two-decimal currency, far beyond any folio, well inside every integer
// type on the way.
const MaxAmountMinor = 1_000_000_000

// Deps are what the service needs.
type Deps struct {
	Folio  *folio.Client
	Tenant *tenant.Client
	MFA    *mfa.Service
}

// Service posts folio mutations. Safe for concurrent use.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service { return &Service{d: d} }

// Body is the request body: adjustments {amountMinor, currency, reason},
// refunds {amountMinor, currency, reason, paymentId}.
type Body struct {
	AmountMinor *int64 `json:"amountMinor"`
	Currency    string `json:"currency"`
	Reason      string `json:"reason"`
	PaymentID   string `json:"paymentId,omitempty"`
}

// Request is one mutation as the function hands it over.
type Request struct {
	FolioID, Kind string
	Body          Body
	proxied.Headers
}

// Result is a posted mutation.
type Result struct {
	PostingID   string `json:"postingId"`
	FolioID     string `json:"folioId"`
	Kind        string `json:"kind"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	paymentRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
)

// UpstreamRequestID is folio-service's idempotency key for a device's
// request with idempotency key key.
func UpstreamRequestID(tenantID, deviceID, key string) string {
	return upstream.RequestID("folio", tenantID, deviceID, key)
}

func validate(r Request) error {
	var fields []apperr.FieldError
	bad := func(f, m string) { fields = append(fields, apperr.FieldError{Field: f, Message: m}) }
	if err := ids.Check(ids.Folio, r.FolioID); err != nil {
		bad("folId", err.Error())
	}
	b := r.Body
	switch {
	case b.AmountMinor == nil:
		bad("amountMinor", "required, an integer in minor units")
	case *b.AmountMinor > MaxAmountMinor || *b.AmountMinor < -MaxAmountMinor:
		bad("amountMinor", "out of range")
	case r.Kind == KindRefunds && *b.AmountMinor <= 0:
		bad("amountMinor", "a refund is a positive amount")
	case r.Kind == KindAdjustments && *b.AmountMinor == 0:
		bad("amountMinor", "an adjustment is not zero")
	}
	if !currencyRE.MatchString(b.Currency) {
		bad("currency", "an ISO 4217 code")
	}
	if b.Reason == "" || len(b.Reason) > 500 {
		bad("reason", "required, at most 500 characters")
	}
	switch {
	case r.Kind == KindRefunds && !paymentRE.MatchString(b.PaymentID):
		bad("paymentId", "required, 1–128 letters, digits and _.:-")
	case r.Kind == KindAdjustments && b.PaymentID != "":
		bad("paymentId", "not allowed for an adjustment")
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	return nil
}

// Post performs one folio mutation for a.
func (s *Service) Post(ctx context.Context, a actor.Actor, r Request) (_ Result, note activity.Note, err error) {
	defer derrors.Wrap(&err, "folioaction.Post(%s %s)", r.Kind, r.FolioID)
	if r.Kind != KindAdjustments && r.Kind != KindRefunds {
		return Result{}, note, apperr.New(apperr.NotFound, "no such folio mutation")
	}
	note = activity.Note{Category: activity.CategoryMutationProxy, Action: action(r.Kind), Resource: &activity.Ref{Kind: "folio", ID: r.FolioID}}
	if err := validate(r); err != nil {
		return Result{}, note, err
	}
	f, err := s.d.Folio.Folio(ctx, a.TenantID, r.FolioID)
	if err != nil {
		return Result{}, note, proxied.Found(err, "folio")
	}
	right, scope := access.DeskActions, mfa.ScopeLargeFolioAdjust
	if r.Kind == KindRefunds {
		right, scope = access.Override, mfa.ScopeRefund
	}
	if err := proxied.Authorize(a, &note, f.PropertyID, right); err != nil {
		return Result{}, note, err
	}
	amount := *r.Body.AmountMinor
	needMFA := r.Kind == KindRefunds
	if !needMFA {
		cfg, err := s.d.Tenant.Config(ctx, a.TenantID)
		if err != nil {
			return Result{}, note, err
		}
		needMFA = abs(amount) > cfg.MFAThresholdMinor
	}
	if needMFA {
		if _, err := s.d.MFA.Require(ctx, a, r.Attestation, scope, r.IdempotencyKey); err != nil {
			return Result{}, note, err
		}
	}
	p, err := s.d.Folio.Post(ctx, folio.Request{
		TenantID: a.TenantID, PropertyID: f.PropertyID, FolioID: r.FolioID, Kind: r.Kind,
		RequestID: UpstreamRequestID(a.TenantID, a.DeviceID, r.IdempotencyKey), AmountMinor: amount,
		Currency: r.Body.Currency, Reason: r.Body.Reason, PaymentID: r.Body.PaymentID,
	})
	var ref *folio.Refusal
	switch {
	case errors.As(err, &ref) && ref.Status == 404:
		return Result{}, note, apperr.New(apperr.NotFound, "no such folio")
	case errors.As(err, &ref):
		return Result{}, note, apperr.New(apperr.ValidationFailed, "the folio system refused the posting")
	case err != nil:
		return Result{}, note, err
	}
	return Result{PostingID: p.PostingID, FolioID: p.FolioID, Kind: r.Kind, AmountMinor: p.AmountMinor, Currency: p.Currency}, note, nil
}

// Action is the activity action of a kind of posting.
func Action(kind string) string { return action(kind) }

func action(kind string) string {
	if kind == KindRefunds {
		return activity.ActionFolioRefund
	}
	return activity.ActionFolioAdjust
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
