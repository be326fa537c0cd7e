package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// JobsConfig is the configuration of the scheduled cross-tenant jobs
// (outbox-relay, …): the jobs role's database and the Pub/Sub project.
type JobsConfig struct {
	ProjectID string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// JOBS_DATABASE_URL, JOBS_DATABASE_MAX_CONNS.
	Postgres pg.Config `env:", prefix=JOBS_"`
}

// Validate checks the config without connecting.
func (c *JobsConfig) Validate() error {
	if err := c.Postgres.Validate(); err != nil {
		// pg.Config names the variables without the prefix it was loaded
		// with; an operator must see the names to set.
		return errors.New(strings.ReplaceAll(err.Error(), "DATABASE_", "JOBS_DATABASE_"))
	}
	return nil
}

// jobsRole is schema.JobsRole (not imported: it would link the migrations).
const jobsRole = "bff_jobs"

// Jobs is what a scheduled job needs.
type Jobs struct {
	DB        *pg.DB // connected as bff_jobs
	Publisher events.Publisher
	pub       *pubsubevents.Publisher
}

// Close releases the clients.
func (j *Jobs) Close() {
	_ = j.pub.Close()
	j.DB.Close()
}

// JobsWith builds a job's dependencies from configuration looked up in l.
// It refuses a JOBS_DATABASE_URL of any role but bff_jobs: with the app
// role, row-level security would show a cross-tenant job no row at all and
// it would report success forever.
func JobsWith(ctx context.Context, l envconfig.Lookuper, _ *slog.Logger) (_ *Jobs, err error) {
	defer derrors.Wrap(&err, "setup.JobsWith")
	var cfg JobsConfig
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, err
	}
	db, err := pg.Open(ctx, cfg.Postgres)
	if err != nil {
		return nil, fmt.Errorf("jobs database: %w", err)
	}
	if r := db.Role(); r != jobsRole {
		db.Close()
		return nil, fmt.Errorf("JOBS_DATABASE_URL connects as %q, want %s", r, jobsRole)
	}
	pub, err := pubsubevents.NewPublisher(ctx, cfg.ProjectID, pubsubevents.Options{})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Jobs{DB: db, Publisher: pub, pub: pub}, nil
}
