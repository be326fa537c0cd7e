package setup

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
)

// Run is one run of a scheduled job; what it returns is the run's summary.
type Run func(ctx context.Context) (any, error)

// Job starts a scheduled function that needs nothing beyond the jobs
// role's database and publisher, from l: newRun builds the run from them.
// what names the job in errors.
func Job(what string, newRun func(log *slog.Logger, j *Jobs) Run) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return job(what, func(_ context.Context, _ boot.Lookuper, log *slog.Logger, j *Jobs) (Run, error) {
		return newRun(log, j), nil
	})
}

// ClientJob is Job for a job over one client it opens at start-up (an
// upstream service, BigQuery): its configuration C is loaded from l as
// config.LoadFrom does (its variables and Validate), open makes the client
// from it, and newRun builds the run from both. ctx is the start-up
// deadline.
func ClientJob[C, T any](what string, open func(ctx context.Context, cfg C) (T, error),
	newRun func(cfg C, client T, log *slog.Logger, j *Jobs) Run) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return job(what, func(ctx context.Context, l boot.Lookuper, log *slog.Logger, j *Jobs) (Run, error) {
		var cfg C
		if err := config.LoadFrom(ctx, l, &cfg); err != nil {
			return nil, err
		}
		c, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return newRun(cfg, c, log, j), nil
	})
}

// job is the start of every scheduled function: the jobs role's database
// and publisher from l, then newRun builds the run; what it opened closes
// when newRun fails.
func job(what string, newRun func(ctx context.Context, l boot.Lookuper, log *slog.Logger, j *Jobs) (Run, error)) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return func(ctx context.Context, l boot.Lookuper, log *slog.Logger) (boot.HTTPFunc, error) {
		j, err := JobsWith(ctx, l, log)
		if err != nil {
			return boot.HTTPFunc{}, fmt.Errorf("setup.Job(%s): %w", what, err)
		}
		run, err := newRun(ctx, l, log, j)
		if err != nil {
			j.Close()
			return boot.HTTPFunc{}, fmt.Errorf("setup.Job(%s): %w", what, err)
		}
		return boot.HTTPFunc{Handler: JobHandler(what, run), Close: j.Close}, nil
	}
}

// JobHandler is a scheduled function's HTTP face: Cloud Scheduler POSTs,
// one run per POST, answered 200 with the run's summary, or 503 when the
// run could not do its work, so the scheduler records the run as failed
// and retries it.
func JobHandler(what string, run Run) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Methods(w, r, http.MethodPost) {
			return
		}
		summary, err := run(r.Context())
		if err != nil {
			httpx.WriteError(w, r, apperr.Unavailable(err, what))
			return
		}
		httpx.WriteJSON(w, r, http.StatusOK, summary)
	})
}
