package setup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// jobsStack is what a job's start needs of the test stack: the Pub/Sub
// emulator, a database of the test's own, and a project; ctx bounds the
// test's start-ups.
func jobsStack(t *testing.T) (ctx context.Context, info testenv.PGInfo, project string) {
	t.Helper()
	testenv.PubsubHost(t)
	_, info = testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx, info, testenv.ProjectID(t)
}

func TestJobsConfig(t *testing.T) {
	t.Parallel()
	ctx, info, project := jobsStack(t)

	cases := []struct {
		name    string
		env     map[string]string
		wantErr []string // all must appear; none means success
	}{
		{"nothing set", map[string]string{}, []string{"GOOGLE_CLOUD_PROJECT"}},
		{"app's URL only", map[string]string{"GOOGLE_CLOUD_PROJECT": project, "DATABASE_URL": info.AppURL}, []string{"JOBS_DATABASE_URL"}},
		{"not a URL", map[string]string{"GOOGLE_CLOUD_PROJECT": project, "JOBS_DATABASE_URL": "::"}, []string{"JOBS_DATABASE_URL is not a valid Postgres URL"}},
		{"bad pool size", map[string]string{"GOOGLE_CLOUD_PROJECT": project, "JOBS_DATABASE_URL": info.JobsURL, "JOBS_DATABASE_MAX_CONNS": "0"}, []string{"JOBS_DATABASE_MAX_CONNS"}},
		{"the app role", map[string]string{"GOOGLE_CLOUD_PROJECT": project, "JOBS_DATABASE_URL": info.AppURL}, []string{`"bff_app", want bff_jobs`}},
		{"the jobs role", map[string]string{"GOOGLE_CLOUD_PROJECT": project, "JOBS_DATABASE_URL": info.JobsURL}, nil},
	}
	for _, tc := range cases {
		j, err := setup.JobsWith(ctx, config.MapLookuper(tc.env), nil)
		if len(tc.wantErr) == 0 {
			if err != nil {
				t.Errorf("%s: JobsWith = %v", tc.name, err)
				continue
			}
			if j.DB.Role() != "bff_jobs" {
				t.Errorf("%s: role %s", tc.name, j.DB.Role())
			}
			j.Close()
			continue
		}
		for _, w := range tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: JobsWith = %v, want an error mentioning %q", tc.name, err, w)
			}
		}
	}
}
