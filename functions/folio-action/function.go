// Package folioaction is the `folio-action` function: POST
// /v1/folios/{folId}/adjustments and /refunds — folio mutations in integer
// minor units proxied to folio-service after the folio's property, the
// role and (refunds, large adjustments) step-up MFA are checked
// (shared/folioaction).
package folioaction

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/folioaction"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/proxied/proxiedhttp"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `folio-action` function as deployed.
var Function = boot.Function{Name: "folio-action", EntryPoint: "FolioAction", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	s := b.FolioActions()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/folios/{folId}/adjustments": post(s, folioaction.KindAdjustments),
		"POST /v1/folios/{folId}/refunds":     post(s, folioaction.KindRefunds),
	})
})}

func init() { Function.Register() }

func post(s *folioaction.Service, kind string) gate.Handler {
	return proxiedhttp.WithBody(http.StatusCreated, activity.Note{Category: activity.CategoryMutationProxy, Action: folioaction.Action(kind)},
		func(ctx context.Context, c *gate.Call, h proxied.Headers, body folioaction.Body) (folioaction.Result, activity.Note, error) {
			return s.Post(ctx, c.Actor, folioaction.Request{FolioID: c.Request.PathValue("folId"), Kind: kind, Body: body, Headers: h})
		})
}
