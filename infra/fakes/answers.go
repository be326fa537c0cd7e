package fakes

import (
	"encoding/json"
	"net/http"
)

// Stored is the answer a fake's mutation gave one request id (the
// Idempotency-Key its caller derived): a retry with the same body gets it
// again, as the real services promise, and another body under the same id
// is refused.
type Stored struct {
	Fingerprint string // the request's path values and body, as JSON
	Status      int
	Answer      json.RawMessage
}

// Recall looks up the answer stored under key for a request whose
// fingerprint is fp: the one to replay (the same request again); reused
// when another request had the key; full when the key is new and max
// answers are stored already (max 0: no bound). nil and false: a new
// request, to answer and store under key. The caller holds the lock that
// guards answers.
func Recall(answers map[string]*Stored, key, fp string, max int) (st *Stored, reused, full bool) {
	st, seen := answers[key]
	switch {
	case seen && st.Fingerprint != fp:
		return nil, true, false
	case !seen && max > 0 && len(answers) >= max:
		return nil, false, true
	}
	return st, false, false
}

// Write writes the stored answer as it was first given.
func (st *Stored) Write(w http.ResponseWriter) {
	ctype := "application/json"
	if st.Status >= 400 {
		ctype = "application/problem+json"
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(st.Status)
	_, _ = w.Write(st.Answer)
}

// Problem is an RFC 9457 problem as an answer to store (WriteProblem
// writes one at once).
func Problem(status int, code, detail string) (int, json.RawMessage) {
	b, _ := json.Marshal(map[string]any{"type": "https://errors.melmastoon.dev/" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail})
	return status, b
}
