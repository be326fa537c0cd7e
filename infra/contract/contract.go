// Package contract checks live HTTP exchanges against openapi.yaml, the
// service's published contract: a request the document refuses must be
// refused by the service, and a response whose status, headers or body the
// document does not describe fails the test that made it — including a
// header the document does not name.
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
	"slices"
	"sort"
	"strings"
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
		loaded, loadErr = LoadFile(filepath.Join(repoRoot, "openapi.yaml"))
	})
	return loaded, loadErr
}

// LoadFile reads and validates one OpenAPI document (no caching).
func LoadFile(path string) (*Spec, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract: load %s: %w", filepath.Base(path), err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: %s is invalid: %w", filepath.Base(path), err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: router: %w", err)
	}
	return &Spec{Doc: doc, router: r}, nil
}

// transportHeaders are set by net/http (or a proxy) on any answer; they
// belong to HTTP, not to the contract.
var transportHeaders = []string{"Content-Type", "Content-Length", "Date", "Transfer-Encoding", "Connection", "Keep-Alive"}

// Check validates one exchange: resp (whose body has been read into body)
// answering req.
//
//   - The request is validated against the operation it matches
//     (parameters, headers included, and body — read again through
//     req.GetBody, which http.NewRequest sets for in-memory bodies). Tests
//     send invalid requests on purpose, so a request the document refuses
//     is an error only when the service did not refuse it with a 4xx.
//   - The response must be one the operation documents for its status (or
//     `default`): its headers valid, every header it carries named by the
//     document (transport headers aside), its body valid — and no body
//     where the document describes none.
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
	reqBody, err := requestBody(req)
	if err != nil {
		return fmt.Errorf("contract: %s %s: read the request body again: %w", req.Method, req.URL.Path, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	var errs []string
	if rerr := openapi3filter.ValidateRequest(context.Background(), in); rerr != nil && (resp.StatusCode < 400 || resp.StatusCode > 499) {
		errs = append(errs, fmt.Sprintf("the request does not match openapi.yaml, yet the service answered %d instead of refusing it: %v", resp.StatusCode, rerr))
	}
	// ValidateRequest consumed the copy; the response check reads nothing
	// more from it.
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if verr := openapi3filter.ValidateResponse(context.Background(), out); verr != nil {
		errs = append(errs, verr.Error())
	}
	if doc := documented(route.Operation, resp.StatusCode); doc != nil {
		if extra := undocumentedHeaders(doc, resp.Header); len(extra) > 0 {
			errs = append(errs, fmt.Sprintf("headers not in openapi.yaml for %d: %s", resp.StatusCode, strings.Join(extra, ", ")))
		}
		if len(doc.Content) == 0 && len(body) > 0 {
			errs = append(errs, fmt.Sprintf("a body where openapi.yaml describes none for %d", resp.StatusCode))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("contract: %s %s → %d does not match openapi.yaml:\n  %s\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(errs, "\n  "), truncate(body))
	}
	return nil
}

// requestBody returns a copy of the request's body without disturbing it.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("the request has a body but no GetBody (build it with http.NewRequest over an in-memory reader)")
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// documented is the response the operation documents for status, else its
// default, else nil.
func documented(op *openapi3.Operation, status int) *openapi3.Response {
	if op == nil || op.Responses == nil {
		return nil
	}
	ref := op.Responses.Status(status)
	if ref == nil {
		ref = op.Responses.Default()
	}
	if ref == nil {
		return nil
	}
	return ref.Value
}

// undocumentedHeaders lists the headers of h that doc does not name.
func undocumentedHeaders(doc *openapi3.Response, h http.Header) []string {
	var extra []string
	for name := range h {
		if slices.Contains(transportHeaders, http.CanonicalHeaderKey(name)) {
			continue
		}
		found := false
		for dn := range doc.Headers {
			if strings.EqualFold(dn, name) {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return extra
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
	// Its headers are those of the document's catch-all problem answer.
	if def := s.Doc.Components.Responses["UnexpectedError"]; def != nil && def.Value != nil {
		if extra := undocumentedHeaders(def.Value, resp.Header); len(extra) > 0 {
			return fmt.Errorf("contract: 405 headers not in openapi.yaml: %s", strings.Join(extra, ", "))
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
