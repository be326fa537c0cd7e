// Package boot starts a deployed function: it builds the function's
// dependencies from the environment at instance start and refuses to start
// (exit 1 after a CRITICAL log) when the configuration is wrong, so a bad
// revision never takes traffic.
package boot

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// buildTimeout bounds start-up work (pings, JWKS fetch).
const buildTimeout = 30 * time.Second

// Lazy returns a getter for what build makes for the function named target.
//
// When the process serves exactly this function (FUNCTION_TARGET = target,
// as on Cloud Run), build runs now, inside init, and a failure stops the
// instance before it takes traffic. Otherwise (a local framework run
// hosting several functions, or a test binary importing the package) it
// runs on first use, and its error is returned to every caller.
func Lazy[F any](target string, build func(ctx context.Context, log *slog.Logger) (F, error)) func() (F, error) {
	log := logging.Default().With("function", target)
	run := func() (F, error) {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		return build(ctx, log)
	}
	if os.Getenv("FUNCTION_TARGET") == target {
		f, err := run()
		if err != nil {
			log.Log(context.Background(), logging.LevelCritical, "function cannot start", "err", err)
			os.Exit(1)
		}
		return func() (F, error) { return f, nil }
	}
	var (
		once sync.Once
		f    F
		err  error
	)
	return func() (F, error) {
		once.Do(func() { f, err = run() })
		return f, err
	}
}

// HTTP is Lazy for an HTTP function: the returned handler is the function's
// entry point, wrapped in the shared request plumbing.
func HTTP(target string, build func(ctx context.Context, log *slog.Logger) (http.Handler, error)) http.Handler {
	get := Lazy(target, build)
	log := logging.Default().With("function", target)
	return httpx.Wrap(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := get()
		if err != nil {
			httpx.WriteError(w, r, apperr.Unavailable(err, "function"))
			return
		}
		h.ServeHTTP(w, r)
	}))
}
