package newfunc

import (
	"text/template"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
)

var functionTemplates = map[manifest.Kind]*template.Template{
	manifest.KindHTTP: template.Must(template.New("http").Parse(`// Package {{.Package}} is the ` + "`{{.Name}}`" + ` function: {{range $i, $r := .Routes}}{{if $i}}, {{end}}{{$r}}{{end}}.
// TODO(newfunc): say what it does for the operator.
package {{.Package}}

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the ` + "`{{.Name}}`" + ` function as deployed: its routes behind the gate.
// TODO(newfunc): open what else it needs with b's openers (b.Views,
// b.Inboxes; a mutation mounts its routes with idemhttp.Mux(b, …)
// instead of b.Gate.Mux, which makes each one idempotent).
var Function = boot.Function{Name: "{{.Name}}", EntryPoint: "{{.EntryPoint}}", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return b.Gate.Mux(map[string]gate.Handler{
{{- range .Routes}}
		"{{.}}": gate.Answer(http.StatusOK, handle),
{{- end}}
	})
})}

func init() { Function.Register() }

// handle calls the library with the caller's actor; what it returns is the
// answer and the request's activity row. A route with a JSON body uses
// gate.WithBody, which decodes it first.
func handle(ctx context.Context, c *gate.Call) (struct{}, activity.Note, error) {
	// TODO(newfunc): the function's logic, in a shared package taking c.Actor.
	return struct{}{}, activity.Note{}, apperr.New(apperr.NotFound, "not implemented yet")
}
`)),
	manifest.KindEvent: template.Must(template.New("event").Parse(`// Package {{.Package}} is the ` + "`{{.Name}}`" + ` function: it consumes {{.Trigger}}.
// TODO(newfunc): say what it does. Idempotent by event id (consume); the
// handler must also be harmless when events arrive out of order.
package {{.Package}}

import (
	"context"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Function is the ` + "`{{.Name}}`" + ` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "{{.Name}}", EntryPoint: "{{.EntryPoint}}", StartEvent: boot.Consumer("{{.Name}}", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		// TODO(newfunc): the function's logic; wrap consume.ErrPoison for
		// data that can never be applied.
		_ = rdb
		return nil
	}
}
`)),
	manifest.KindScheduled: template.Must(template.New("scheduled").Parse(`// Package {{.Package}} is the ` + "`{{.Name}}`" + ` scheduled function: Cloud Scheduler
// POSTs to it ({{.Schedule}}, UTC; OIDC, invoker account only) and it runs
// across tenants as the jobs role.
// TODO(newfunc): say what one run does.
package {{.Package}}

import (
	"context"
	"log/slog"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the ` + "`{{.Name}}`" + ` function as deployed.
var Function = boot.Function{Name: "{{.Name}}", EntryPoint: "{{.EntryPoint}}", StartHTTP: setup.Job("{{.Name}}",
	func(_ *slog.Logger, j *setup.Jobs) setup.Run {
		return run(j.DB)
	})}

func init() { Function.Register() }

// Summary is what one run did, as the run's 200 answer.
type Summary struct {
	Processed int ` + "`json:\"processed\"`" + `
}

func run(jobs *pg.DB) setup.Run {
	return func(ctx context.Context) (any, error) {
		// TODO(newfunc): one run; an error answers 503 so the scheduler
		// retries.
		_ = jobs
		return Summary{}, nil
	}
}
`)),
}

var terraformTemplate = template.Must(template.New("terraform").Parse(`# The {{.Name}} function ({{.Kind}}). Kind, {{if .Routes}}routes{{else if .Trigger}}trigger{{else}}schedule{{end}} and needs come from
# functions/manifest.json; ` + "`publishes`" + ` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_{{.Module}}" {
  source   = "./modules/function"
  name     = "{{.Name}}"
  spec     = local.functions["{{.Name}}"]
  platform = local.platform
  publishes = [{{if eq .Kind "http"}}
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  {{end}}]
}
`))
