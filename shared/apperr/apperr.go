// Package apperr holds the one application error type of the service and
// the table that maps its stable codes to HTTP statuses.
//
// Handlers and library code return *Error (possibly wrapped); httpx renders
// it as RFC 9457 problem+json in one place. Anything that is not an *Error is
// reported to the client as INTERNAL with a generic message, and its cause is
// only logged.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code: MELMASTOON.<AREA>.<CODE>.
type Code string

const bff = "MELMASTOON.BFF.BACKOFFICE."

// This service's own codes.
const (
	Unauthenticated         Code = bff + "UNAUTHENTICATED"
	SessionDeviceMismatch   Code = bff + "SESSION_DEVICE_MISMATCH"
	PropertyOutOfScope      Code = bff + "PROPERTY_OUT_OF_SCOPE"
	ForbiddenRole           Code = bff + "FORBIDDEN_ROLE"
	ValidationFailed        Code = bff + "VALIDATION_FAILED"
	NotFound                Code = bff + "NOT_FOUND"
	MethodNotAllowed        Code = bff + "METHOD_NOT_ALLOWED"
	DecisionAlreadyRecorded Code = bff + "DECISION_ALREADY_RECORDED"
	AlertAlreadyAcked       Code = bff + "ALERT_ALREADY_ACKED"
	SuggestionExpired       Code = bff + "SUGGESTION_EXPIRED"
	MFARequired             Code = bff + "MFA_REQUIRED"
	MFAAttestationInvalid   Code = bff + "MFA_ATTESTATION_INVALID"
	VersionConflict         Code = bff + "VERSION_CONFLICT"
	PreconditionRequired    Code = bff + "PRECONDITION_REQUIRED"
	IdempotencyKeyRequired  Code = bff + "IDEMPOTENCY_KEY_REQUIRED"
	IdempotencyKeyReused    Code = bff + "IDEMPOTENCY_KEY_REUSED"
	IdempotencyInFlight     Code = bff + "IDEMPOTENCY_IN_FLIGHT"
	PayloadTooLarge         Code = bff + "PAYLOAD_TOO_LARGE"
	UnsupportedMediaType    Code = bff + "UNSUPPORTED_MEDIA_TYPE"
	RateLimited             Code = bff + "RATE_LIMITED"
	UpstreamUnavailable     Code = bff + "UPSTREAM_UNAVAILABLE"
	Internal                Code = bff + "INTERNAL"
)

// Identity codes, owned by iam-service's taxonomy.
const (
	TokenExpired    Code = "MELMASTOON.IAM.TOKEN_EXPIRED"
	SessionRevoked  Code = "MELMASTOON.IAM.SESSION_REVOKED"
	NoPropertyScope Code = "MELMASTOON.IAM.NO_PROPERTY_SCOPE"
)

type meta struct {
	status int
	title  string
}

var table = map[Code]meta{
	Unauthenticated:         {http.StatusUnauthorized, "Authentication required"},
	SessionDeviceMismatch:   {http.StatusUnauthorized, "Session belongs to another device or operator"},
	PropertyOutOfScope:      {http.StatusForbidden, "Property is outside the session's scope"},
	ForbiddenRole:           {http.StatusForbidden, "Role does not allow this action"},
	ValidationFailed:        {http.StatusBadRequest, "Request is not valid"},
	NotFound:                {http.StatusNotFound, "Not found"},
	MethodNotAllowed:        {http.StatusMethodNotAllowed, "Method not allowed"},
	DecisionAlreadyRecorded: {http.StatusConflict, "A decision is already recorded"},
	AlertAlreadyAcked:       {http.StatusConflict, "Alert already acknowledged"},
	SuggestionExpired:       {http.StatusGone, "Suggestion has expired"},
	MFARequired:             {http.StatusForbidden, "Step-up MFA required"},
	MFAAttestationInvalid:   {http.StatusForbidden, "MFA attestation is not valid"},
	VersionConflict:         {http.StatusPreconditionFailed, "Version conflict"},
	PreconditionRequired:    {http.StatusPreconditionRequired, "If-Match required"},
	IdempotencyKeyRequired:  {http.StatusBadRequest, "Idempotency-Key header required"},
	IdempotencyKeyReused:    {http.StatusUnprocessableEntity, "Idempotency-Key reused with another request"},
	IdempotencyInFlight:     {http.StatusConflict, "A request with this Idempotency-Key is in flight"},
	PayloadTooLarge:         {http.StatusRequestEntityTooLarge, "Payload too large"},
	UnsupportedMediaType:    {http.StatusUnsupportedMediaType, "Unsupported media type"},
	RateLimited:             {http.StatusTooManyRequests, "Too many requests"},
	UpstreamUnavailable:     {http.StatusServiceUnavailable, "A dependency is unavailable"},
	Internal:                {http.StatusInternalServerError, "Internal error"},
	TokenExpired:            {http.StatusUnauthorized, "Token expired"},
	SessionRevoked:          {http.StatusUnauthorized, "Session revoked"},
	NoPropertyScope:         {http.StatusForbidden, "Operator has no property scope"},
}

// Codes returns every known code; used by tests that check documentation.
func Codes() []Code {
	out := make([]Code, 0, len(table))
	for c := range table {
		out = append(out, c)
	}
	return out
}

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the application error. Detail is safe to show to a client; Cause
// is not and is only logged.
type Error struct {
	Code       Code
	Detail     string
	Fields     []FieldError
	RetryAfter int // seconds; rendered as Retry-After when > 0
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

func (e *Error) Unwrap() error { return e.Cause }

// Status is the HTTP status of the error's code.
func (e *Error) Status() int { return StatusOf(e.Code) }

// Title is the short, fixed human title of the error's code.
func (e *Error) Title() string {
	if m, ok := table[e.Code]; ok {
		return m.title
	}
	return table[Internal].title
}

// StatusOf maps a code to its HTTP status; unknown codes are 500.
func StatusOf(c Code) int {
	if m, ok := table[c]; ok {
		return m.status
	}
	return http.StatusInternalServerError
}

// New returns an error with a client-safe detail message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an error whose cause is kept for logs only.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...), Cause: cause}
}

// Validation returns VALIDATION_FAILED with per-field messages.
func Validation(fields ...FieldError) *Error {
	return &Error{Code: ValidationFailed, Detail: "one or more fields are invalid", Fields: fields}
}

// Unavailable reports a dependency outage; clients may retry after a while.
func Unavailable(cause error, what string) *Error {
	return &Error{Code: UpstreamUnavailable, Detail: what + " is unavailable, retry shortly", RetryAfter: 2, Cause: cause}
}

// From extracts the *Error in err's chain; anything else becomes INTERNAL
// with a generic detail and err kept as the cause.
func From(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Code: Internal, Detail: "an internal error occurred", Cause: err}
}

// CodeOf returns the code of err, INTERNAL when it carries none.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return From(err).Code
}

// Is reports whether err carries code (CodeOf(err) == code): the one way to
// branch on an error's code. A nil err carries none.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}
