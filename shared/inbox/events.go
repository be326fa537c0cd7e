package inbox

import (
	"context"

	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// The handlers of the event functions that mirror the inboxes, for
// boot.Consumer: Redis only, so those functions link neither Postgres nor
// the gate.
var (
	OnSuggestionCreated     = func(rdb *redisx.Client) consume.Func { return mirrors(rdb).Created() }
	OnSuggestionInvalidated = func(rdb *redisx.Client) consume.Func { return mirrors(rdb).Invalidated() }
	OnAlertRaised           = func(rdb *redisx.Client) consume.Func { return alertMirrors(rdb).Raised() }
	OnAlertResolved         = func(rdb *redisx.Client) consume.Func { return alertMirrors(rdb).Resolved() }
)

func consumerDeps(rdb *redisx.Client) Deps {
	return Deps{Redis: rdb, Notify: func(ctx context.Context, tenantID, propertyID, typ string, data any) error {
		return devicestream.AppendProperty(ctx, rdb, tenantID, propertyID, typ, data)
	}}
}

func mirrors(rdb *redisx.Client) *Suggestions { return NewSuggestions(consumerDeps(rdb)) }

func alertMirrors(rdb *redisx.Client) *Alerts { return NewAlerts(consumerDeps(rdb), nil) }
