package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// KeyHeader carries the client's idempotency key.
const KeyHeader = "Idempotency-Key"

// ReplayedHeader marks a response replayed from a stored record.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// ParseKey returns the request's idempotency key from the values of its
// Idempotency-Key header: 400 IDEMPOTENCY_KEY_REQUIRED without one, 400
// VALIDATION_FAILED for two or a malformed one.
func ParseKey(vs []string) (string, error) {
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return "", apperr.New(apperr.IdempotencyKeyRequired, "mutating requests need an %s header", KeyHeader)
	case len(vs) > 1:
		return "", apperr.Validation(apperr.FieldError{Field: KeyHeader, Message: "must be sent once"})
	}
	if !validKey(vs[0]) {
		return "", apperr.Validation(apperr.FieldError{Field: KeyHeader, Message: "must be 1-255 printable ASCII characters"})
	}
	return vs[0], nil
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// DocID names the Firestore document of (tenant, device, key) in
// Collection. The ids are checked so that the "_"-joined name cannot be
// ambiguous or hold a "/"; the key is hashed because it is client text.
func DocID(tenantID, deviceID, key string) (_ string, err error) {
	defer derrors.Wrap(&err, "idempotency.DocID")
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "an internal error occurred")
	}
	if err := ids.Check(ids.Device, deviceID); err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "an internal error occurred")
	}
	sum := sha256.Sum256([]byte(key))
	return tenantID + "_" + deviceID + "_" + hex.EncodeToString(sum[:]), nil
}

// Fingerprint identifies "the same request" for a key. Each part is
// length-prefixed so that no two different requests hash the same input.
func Fingerprint(operatorID, method string, u *url.URL, body []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(operatorID), []byte(method), []byte(target(u)), canonicalBody(body)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// target is the path and the query with its parameters sorted, since a
// query parameter (propertyId) can change what a mutation does.
func target(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path + "?" + q.Encode()
}

// canonicalBody re-encodes a body holding exactly one JSON value with
// sorted object keys and no insignificant whitespace; numbers keep their
// literal text (UseNumber), so 1 and 1.0 stay different, as they may be to
// the handler. Anything else is fingerprinted as it came.
func canonicalBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}
