// Package contract checks live HTTP exchanges against openapi.yaml, the
// service's published contract: a response whose status, headers or body
// the document does not describe fails the test that made it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec is a loaded, validated openapi.yaml with a router over its paths.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
}

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

// Load reads and validates <repoRoot>/openapi.yaml once per process.
func Load(repoRoot string) (*Spec, error) {
	loadOnce.Do(func() {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromFile(filepath.Join(repoRoot, "openapi.yaml"))
		if err != nil {
			loadErr = fmt.Errorf("contract: load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loadErr = fmt.Errorf("contract: openapi.yaml is invalid: %w", err)
			return
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			loadErr = fmt.Errorf("contract: router: %w", err)
			return
		}
		loaded = &Spec{Doc: doc, router: r}
	})
	return loaded, loadErr
}

// Check validates a response (whose body has been read into body) to req
// against the operation the request matches. Requests are not validated:
// tests send invalid requests on purpose, and the answer to those must
// still be a documented response.
func (s *Spec) Check(req *http.Request, resp *http.Response, body []byte) error {
	// The router matches on path only; servers are relative ("/").
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	route, params, err := s.router.FindRoute(r)
	if errors.Is(err, routers.ErrMethodNotAllowed) && resp.StatusCode == http.StatusMethodNotAllowed {
		// A method the document does not list has no operation to
		// describe its answer; it must still be a documented Problem.
		return s.checkProblem(resp, body)
	}
	if err != nil {
		return fmt.Errorf("contract: %s %s is not in openapi.yaml: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("contract: %s %s → %d does not match openapi.yaml: %w\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, truncate(body))
	}
	return nil
}

func (s *Spec) checkProblem(resp *http.Response, body []byte) error {
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("contract: 405 answered with Content-Type %q", ct)
	}
	if resp.Header.Get("Allow") == "" {
		return errors.New("contract: 405 without Allow")
	}
	ref := s.Doc.Components.Schemas["Problem"]
	if ref == nil {
		return errors.New("contract: openapi.yaml has no Problem schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contract: 405 body is not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		return fmt.Errorf("contract: 405 body is not a Problem: %w", err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
