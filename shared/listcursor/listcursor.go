// Package listcursor is the paging of the BFF's lists (the inboxes, and
// the activity ledger and device lists that page the same way): the limit a
// request asks for, and the opaque nextCursor that carries a keyset position
// from one page to the next.
//
// A cursor is the position (the sort key and id of the last item a page
// showed) plus a MAC over it and over what the cursor is bound to: the list,
// the tenant and every filter the page was read with. A client can neither
// forge a position nor reuse a cursor with other filters (another property,
// status or role set): both fail the MAC and answer 400 VALIDATION_FAILED,
// so a cursor can never lead a list past the filters it was issued under.
// The position itself is not secret (ids the page already showed), so it is
// only signed, not encrypted.
package listcursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Limit reads a request's limit parameter: empty is DefaultLimit; anything
// but an integer from 1 to MaxLimit is 400 VALIDATION_FAILED on field
// "limit" (never clamped: a client asking for 1,000 should learn it gets
// 200).
func Limit(raw string) (int, error) {
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, apperr.Validation(apperr.FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)})
	}
	return n, nil
}

// Position is a keyset position: the sort key and the id of the last item
// a page showed; the next page starts strictly after it. A list whose id
// already sorts (a ULID) may leave Key empty.
type Position struct {
	Key string
	ID  string
}

// Binding is what a cursor is valid for: the list, the tenant, and the
// filters as name/value pairs in the order the list always gives them. A
// filter that changes which items a page holds (property, status, the
// caller's role set when the list hides what a role may not see) must be
// in it.
type Binding struct {
	List     string
	TenantID string
	Filters  []string // name, value, name, value, …
}

// Codec signs and checks cursors with one deployment's key.
type Codec struct{ key []byte }

// MinSecret is the shortest secret New accepts, in bytes.
const MinSecret = 32

// New returns the codec whose key is derived from secret (a deployment's
// secret of at least MinSecret bytes). The key is an HMAC of a fixed label
// under secret, so the secret can be one the deployment already holds for
// another keyed hash without a cursor MAC ever equalling that hash.
func New(secret []byte) (*Codec, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("listcursor.New: the secret must be at least %d bytes", MinSecret)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("melmastoon bff-backoffice list cursor v1"))
	return &Codec{key: m.Sum(nil)}, nil
}

const (
	version = 1
	macLen  = 16 // 128 bits: forging one by guessing is out of reach
	// maxCursor bounds what Decode reads; a real cursor is well under it.
	maxCursor = 1024
)

// Encode returns the cursor of p under b.
func (c *Codec) Encode(b Binding, p Position) string {
	payload := make([]byte, 0, 8+len(p.Key)+len(p.ID))
	payload = append(payload, version)
	payload = binary.AppendUvarint(payload, uint64(len(p.Key)))
	payload = append(payload, p.Key...)
	payload = binary.AppendUvarint(payload, uint64(len(p.ID)))
	payload = append(payload, p.ID...)
	return base64.RawURLEncoding.EncodeToString(append(payload, c.mac(b, payload)...))
}

// Decode returns the position cursor carries when it was issued under b.
// A cursor that is malformed, altered, signed with another key or issued
// under another binding is 400 VALIDATION_FAILED on field "cursor".
func (c *Codec) Decode(b Binding, cursor string) (Position, error) {
	bad := apperr.Validation(apperr.FieldError{Field: "cursor", Message: "is not a cursor this list issued for these filters; start again without it"})
	if len(cursor) > maxCursor {
		return Position{}, bad
	}
	// Strict: a cursor has exactly one spelling. The lenient decoder
	// ignores the unused low bits of the last character, so a client could
	// alter the text without altering the cursor.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(raw) < 1+macLen {
		return Position{}, bad
	}
	payload, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(mac, c.mac(b, payload)) {
		return Position{}, bad
	}
	p, err := parse(payload)
	if err != nil {
		// Signed by us but unreadable: only a newer version's cursor.
		return Position{}, bad
	}
	return p, nil
}

func parse(payload []byte) (Position, error) {
	r := bytes.NewReader(payload)
	v, err := r.ReadByte()
	if err != nil || v != version {
		return Position{}, errors.New("unknown version")
	}
	field := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return "", errors.New("short field")
		}
		b := make([]byte, n)
		_, _ = r.Read(b)
		return string(b), nil
	}
	var p Position
	if p.Key, err = field(); err != nil {
		return Position{}, err
	}
	if p.ID, err = field(); err != nil {
		return Position{}, err
	}
	if r.Len() != 0 {
		return Position{}, errors.New("trailing bytes")
	}
	return p, nil
}

// mac is the truncated HMAC of the binding and the payload. Every part is
// length-prefixed, so no two bindings (or binding and payload splits)
// serialise alike.
func (c *Codec) mac(b Binding, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	var buf []byte
	put := func(s string) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
		m.Write(buf)
		m.Write([]byte(s))
	}
	put(b.List)
	put(b.TenantID)
	buf = binary.AppendUvarint(buf[:0], uint64(len(b.Filters)))
	m.Write(buf)
	for _, f := range b.Filters {
		put(f)
	}
	put(string(payload))
	return m.Sum(nil)[:macLen]
}

// Page is a list's answer: a page of items and, unless it is the last
// page, the cursor of the next one. A page may hold fewer than the limit
// (a list that filters while it reads stops after a bounded amount of
// work); only an absent nextCursor means there is nothing more.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
