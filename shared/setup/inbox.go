package setup

import (
	"context"
	"log/slog"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Inboxes are the AI suggestion and alert inboxes of an instance; each is
// nil unless its upstream was asked for.
type Inboxes struct {
	Suggestions *inbox.Suggestions
	Alerts      *inbox.Alerts
}

// InboxesWith builds the inboxes of an HTTP function next to its gate,
// from configuration looked up in l: needs names the upstreams (UpAI,
// UpNotification) whose inbox it serves.
func InboxesWith(ctx context.Context, l envconfig.Lookuper, log *slog.Logger, g *gate.Gate, res *Resources, needs ...string) (*Inboxes, error) {
	src := &views.Sources{}
	for _, n := range needs {
		if err := addSource(ctx, l, src, n); err != nil {
			return nil, err
		}
	}
	cursors, err := ListCursors(ctx, l)
	if err != nil {
		return nil, err
	}
	d := inbox.Deps{
		Cursors: cursors,
		Redis:   res.Redis,
		DB:      res.DB,
		Relay:   outbox.NewRelay(res.DB, g.Publisher, log, outbox.Options{}),
		AI:      src.AI,
		Notify:  Notifier(res.Redis),
	}
	out := &Inboxes{}
	if src.AI != nil {
		out.Suggestions = inbox.NewSuggestions(d)
	}
	if src.Notification != nil {
		out.Alerts = inbox.NewAlerts(d, src.Notification)
	}
	return out, nil
}

// ListCursors is the codec of the lists' cursors. They are signed with a
// key derived from the deployment's PII_HASH_KEY: a secret every HTTP
// function already holds, validated (at least 32 bytes) with the gate's
// configuration; the derivation keeps a cursor MAC from ever equalling one
// of its hashes.
func ListCursors(ctx context.Context, l envconfig.Lookuper) (*listcursor.Codec, error) {
	var keys struct {
		PIIHashKey string `env:"PII_HASH_KEY, required"`
	}
	if err := config.LoadFrom(ctx, l, &keys); err != nil {
		return nil, err
	}
	return listcursor.New([]byte(keys.PIIHashKey))
}

// Notifier pushes live events to the desktops of a property.
func Notifier(rdb *redisx.Client) inbox.Notifier {
	return func(ctx context.Context, tenantID, propertyID, typ string, data any) error {
		return devicestream.AppendProperty(ctx, rdb, tenantID, propertyID, typ, data)
	}
}
