// Package notification is a fake of notification-service's alerts
// (docs/UPSTREAMS.md, docs/DOMAIN.md), under
// /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/alerts?status=open|all → {items:[Alert]}
//	GET P/alerts/summary         → {open, critical}
//
// Alerts point at what the other fakes show (offline devices, no-shows,
// the failing lock of the one property with a critical alert).
package notification

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "notification-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{}
	s.Service = scoped.New(Name, "NOTIFICATION", ops, []scoped.Route{
		{Path: "/alerts", Handle: func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
			if all, ok := s.Status(w, r); ok {
				fakes.WriteJSON(w, http.StatusOK, sn.Alerts(all))
			}
		}},
		{Path: "/alerts/summary", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.AlertSummary())
		}},
	}, opts...)
	return s
}
