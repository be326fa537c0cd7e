// Package aiorchestrator is a fake of ai-orchestrator-service's suggestion
// inbox (docs/UPSTREAMS.md, domain model §5), under
// /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/suggestions?status=open|all → {items:[Suggestion]}
//	GET P/suggestions/summary         → {open, actionRequired}
//
// Some suggestions have no provenance (the BFF must not show them) and one
// always expires within minutes; summary.open is the length of the open
// list.
package aiorchestrator

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "ai-orchestrator-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{}
	s.Service = scoped.New(Name, "AI", ops, []scoped.Route{
		{Path: "/suggestions", Handle: func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
			if all, ok := s.Status(w, r); ok {
				fakes.WriteJSON(w, http.StatusOK, sn.Suggestions(all))
			}
		}},
		{Path: "/suggestions/summary", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.SuggestionSummary())
		}},
	}, opts...)
	return s
}
