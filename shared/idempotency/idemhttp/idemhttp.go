// Package idemhttp puts shared/idempotency in front of a gate handler:
// it reads the request's Idempotency-Key and body, runs the handler under
// the store's record, and turns the stored or fresh answer back into a
// gate.Result. It is the only place where idempotency meets the gate, so
// the gate itself never links Firestore.
//
//	store, err := idempotency.NewStore(ctx, projectID, idempotency.Options{})
//	routes := map[string]gate.Handler{"POST /v1/…": idemhttp.Wrap(store, h)}
//
// A function mounts its write routes with Mux, which opens the store and
// wraps every route.
//
// Wrap sits inside the gate, so the actor is known; the activity row of
// the run that executes is committed (gate.Call.RecordOutcome) before its
// answer is stored. A replay runs no handler and records no row: the
// action was recorded when it ran. A refusal (no or a malformed key, a
// body too large, the key in flight or reused with another body) records
// a mutation.refused failure row: a client hammering a mutation with bad
// keys is what an auditor wants to see.
package idemhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
)

// Wrap makes h idempotent per (tenant, device, Idempotency-Key); see
// shared/idempotency for the answers. h finds the body in c.Request.Body
// as usual (read once here and put back).
func Wrap(s *idempotency.Store, h gate.Handler) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (_ gate.Result, err error) {
		r := c.Request
		ran := false
		defer func() {
			if err != nil && !ran && c.Note.Action == "" {
				c.Note = refused(r)
			}
		}()
		// The key is checked before the body is read: a request without
		// one is refused whatever it carries.
		key, err := idempotency.ParseKey(r.Header.Values(idempotency.KeyHeader))
		if err != nil {
			return gate.Result{}, err
		}
		body, err := readBody(r)
		if err != nil {
			return gate.Result{}, err
		}
		sum := sha256.Sum256(body)
		c.BodySHA256 = sum[:]
		req := idempotency.Request{Key: key, Method: r.Method, URL: r.URL, Body: body}
		resp, err := s.Do(ctx, c.Actor, req, func(ctx context.Context) (idempotency.Response, error) {
			ran = true
			res, err := h(ctx, c)
			// The run's activity row commits before its answer is stored:
			// a ledger failure then fails the run (5xx, the key released)
			// instead of leaving a stored answer without its row.
			if rerr := c.RecordOutcome(ctx, err); rerr != nil {
				return idempotency.Response{}, rerr
			}
			if err != nil {
				return idempotency.Response{}, err
			}
			return responseOf(res)
		})
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: resp.Status, Header: resp.Header, Raw: resp.Body}, nil
	}
}

// refused is the note of a mutation refused before it ran: the request's
// path names what was attempted (the handler, which knows the action's
// own name and property, never ran).
func refused(r *http.Request) activity.Note {
	// Escaped: ASCII, so the cut never splits a character.
	id := r.Method + " " + r.URL.EscapedPath()
	if len(id) > activity.MaxResourceID {
		id = id[:activity.MaxResourceID]
	}
	return activity.Note{Category: activity.CategoryMutationProxy, Action: activity.ActionMutationRefused,
		Resource: &activity.Ref{Kind: "request", ID: id}}
}

// responseOf encodes a handler's result the way the gate would write it
// (httpx.WriteJSON: escaped HTML, trailing newline), so a wrapped handler
// answers the same bytes as an unwrapped one, replayed or not.
func responseOf(res gate.Result) (idempotency.Response, error) {
	out := idempotency.Response{Status: res.Status, Header: res.Header.Clone()}
	switch {
	case len(res.Raw) > 0:
		out.Body = res.Raw
	case res.Body != nil:
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(res.Body); err != nil {
			return idempotency.Response{}, apperr.Wrap(apperr.Internal, fmt.Errorf("encode response: %w", err), "an internal error occurred")
		}
		out.Body = buf.Bytes()
		if out.Header == nil {
			out.Header = http.Header{}
		}
		out.Header.Set("Content-Type", "application/json")
	}
	return out, nil
}

// readBody reads the whole body once, for the fingerprint, and puts an
// identical copy back for the handler's DecodeJSON.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, httpx.MaxBody+1))
	_ = r.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apperr.New(apperr.PayloadTooLarge, "request body exceeds %d bytes", httpx.MaxBody)
		}
		return nil, apperr.Wrap(apperr.ValidationFailed, err, "request body could not be read")
	}
	if len(body) > httpx.MaxBody {
		return nil, apperr.New(apperr.PayloadTooLarge, "request body exceeds %d bytes", httpx.MaxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return body, nil
}
