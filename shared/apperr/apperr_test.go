package apperr_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
)

// codes is the contract: clients switch on these strings and statuses, so
// a change here is a breaking change of the HTTP API.
var codes = []struct {
	code   apperr.Code
	name   string
	status int
}{
	{apperr.Unauthenticated, "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED", http.StatusUnauthorized},
	{apperr.SessionDeviceMismatch, "MELMASTOON.BFF.BACKOFFICE.SESSION_DEVICE_MISMATCH", http.StatusUnauthorized},
	{apperr.PropertyOutOfScope, "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE", http.StatusForbidden},
	{apperr.ForbiddenRole, "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE", http.StatusForbidden},
	{apperr.ValidationFailed, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED", http.StatusBadRequest},
	{apperr.NotFound, "MELMASTOON.BFF.BACKOFFICE.NOT_FOUND", http.StatusNotFound},
	{apperr.MethodNotAllowed, "MELMASTOON.BFF.BACKOFFICE.METHOD_NOT_ALLOWED", http.StatusMethodNotAllowed},
	{apperr.DecisionAlreadyRecorded, "MELMASTOON.BFF.BACKOFFICE.DECISION_ALREADY_RECORDED", http.StatusConflict},
	{apperr.AlertAlreadyAcked, "MELMASTOON.BFF.BACKOFFICE.ALERT_ALREADY_ACKED", http.StatusConflict},
	{apperr.SuggestionExpired, "MELMASTOON.BFF.BACKOFFICE.SUGGESTION_EXPIRED", http.StatusGone},
	{apperr.MFARequired, "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED", http.StatusForbidden},
	{apperr.MFAAttestationInvalid, "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID", http.StatusForbidden},
	{apperr.VersionConflict, "MELMASTOON.BFF.BACKOFFICE.VERSION_CONFLICT", http.StatusPreconditionFailed},
	{apperr.PreconditionRequired, "MELMASTOON.BFF.BACKOFFICE.PRECONDITION_REQUIRED", http.StatusPreconditionRequired},
	{apperr.IdempotencyKeyRequired, "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_KEY_REQUIRED", http.StatusBadRequest},
	{apperr.IdempotencyKeyReused, "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_KEY_REUSED", http.StatusUnprocessableEntity},
	{apperr.IdempotencyInFlight, "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_IN_FLIGHT", http.StatusConflict},
	{apperr.PayloadTooLarge, "MELMASTOON.BFF.BACKOFFICE.PAYLOAD_TOO_LARGE", http.StatusRequestEntityTooLarge},
	{apperr.UnsupportedMediaType, "MELMASTOON.BFF.BACKOFFICE.UNSUPPORTED_MEDIA_TYPE", http.StatusUnsupportedMediaType},
	{apperr.RateLimited, "MELMASTOON.BFF.BACKOFFICE.RATE_LIMITED", http.StatusTooManyRequests},
	{apperr.UpstreamUnavailable, "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE", http.StatusServiceUnavailable},
	{apperr.Internal, "MELMASTOON.BFF.BACKOFFICE.INTERNAL", http.StatusInternalServerError},
	{apperr.TokenExpired, "MELMASTOON.IAM.TOKEN_EXPIRED", http.StatusUnauthorized},
	{apperr.SessionRevoked, "MELMASTOON.IAM.SESSION_REVOKED", http.StatusUnauthorized},
	{apperr.NoPropertyScope, "MELMASTOON.IAM.NO_PROPERTY_SCOPE", http.StatusForbidden},
}

func TestEveryCodeHasItsStatusAndString(t *testing.T) {
	t.Parallel()
	var want []apperr.Code
	for _, c := range codes {
		want = append(want, c.code)
		if string(c.code) != c.name {
			t.Errorf("code %q, want the stable string %q", c.code, c.name)
		}
		if got := apperr.StatusOf(c.code); got != c.status {
			t.Errorf("StatusOf(%s) = %d, want %d", c.code, got, c.status)
		}
		e := apperr.New(c.code, "detail")
		if e.Status() != c.status {
			t.Errorf("%s: Status() = %d, want %d", c.code, e.Status(), c.status)
		}
		if e.Title() == "" || (c.code != apperr.Internal && e.Title() == apperr.New(apperr.Internal, "").Title()) {
			t.Errorf("%s: title %q is empty or the fallback", c.code, e.Title())
		}
	}
	// Codes lists exactly the codes above: a new code needs a status here
	// (and in openapi.yaml) before it ships.
	got := apperr.Codes()
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Codes() (-want +got):\n%s", d)
	}
}

func TestUnknownCode(t *testing.T) {
	t.Parallel()
	unknown := apperr.Code("MELMASTOON.BFF.BACKOFFICE.NO_SUCH_CODE")
	if got := apperr.StatusOf(unknown); got != http.StatusInternalServerError {
		t.Errorf("StatusOf(unknown) = %d, want 500", got)
	}
	if got, want := apperr.New(unknown, "x").Title(), apperr.New(apperr.Internal, "x").Title(); got != want {
		t.Errorf("Title of an unknown code = %q, want INTERNAL's %q", got, want)
	}
}

func TestFromUnknownErrorIsInternalAndGeneric(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: password authentication failed for user bff_app at 10.0.0.7")
	e := apperr.From(cause)
	if e.Code != apperr.Internal || e.Status() != http.StatusInternalServerError {
		t.Fatalf("From(plain error) = %s (%d), want INTERNAL 500", e.Code, e.Status())
	}
	if e.Detail != "an internal error occurred" {
		t.Errorf("detail %q, want the generic message", e.Detail)
	}
	// The cause is for logs: kept in the chain, never in what a client sees.
	if strings.Contains(e.Detail, "password") || len(e.Fields) != 0 {
		t.Errorf("the cause leaked into the client-visible part: %+v", e)
	}
	if !errors.Is(e, cause) {
		t.Error("the cause is not kept in the chain")
	}
	apperrtest.WantCode(t, cause, apperr.Internal)
	if apperr.CodeOf(nil) != "" {
		t.Errorf("CodeOf(nil) = %q, want none", apperr.CodeOf(nil))
	}
}

func TestWrappedErrorsKeepTheirCode(t *testing.T) {
	t.Parallel()
	inner := apperr.New(apperr.PropertyOutOfScope, "not yours")
	wrapped := fmt.Errorf("views.Service.Get: %w", fmt.Errorf("authorize: %w", inner))
	joined := errors.Join(errors.New("unrelated cleanup failure"), wrapped)
	for _, err := range []error{inner, wrapped, joined} {
		apperrtest.WantCode(t, err, apperr.PropertyOutOfScope)
		if apperr.From(err) != inner {
			t.Errorf("From(%v) is not the original *Error", err)
		}
		if apperr.CodeOf(err) != apperr.PropertyOutOfScope {
			t.Errorf("CodeOf(%v) = %s", err, apperr.CodeOf(err))
		}
	}
	// A code wrapping another keeps the outer one: the nearest decision wins.
	outer := apperr.Wrap(apperr.UpstreamUnavailable, inner, "tenant-service is unavailable")
	apperrtest.WantCode(t, outer, apperr.UpstreamUnavailable)
	if !errors.Is(outer, inner) {
		t.Error("Wrap lost its cause")
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	v := apperr.Validation(apperr.FieldError{Field: "locale", Message: "unknown"})
	apperrtest.WantCode(t, v, apperr.ValidationFailed)
	if d := cmp.Diff([]apperr.FieldError{{Field: "locale", Message: "unknown"}}, v.Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	cause := errors.New("dial tcp: connection refused")
	u := apperr.Unavailable(cause, "session store")
	apperrtest.WantCode(t, u, apperr.UpstreamUnavailable)
	if u.RetryAfter <= 0 || !strings.Contains(u.Detail, "session store") || strings.Contains(u.Detail, "refused") {
		t.Errorf("Unavailable = %+v: want a Retry-After, the dependency named, the cause hidden", u)
	}
	if got := u.Error(); !strings.Contains(got, "refused") || !strings.Contains(got, string(apperr.UpstreamUnavailable)) {
		t.Errorf("Error() = %q: logs need the code and the cause", got)
	}
	if got := apperr.New(apperr.NotFound, "no %s %d", "room", 512).Detail; got != "no room 512" {
		t.Errorf("New formats its detail: %q", got)
	}
}
