package bigquery_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/bigquery"
)

func start(t *testing.T) (*fake.Service, *httptest.Server, *bigquery.Client) {
	t.Helper()
	s := fake.New(fakes.WithLatency(0, 0))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := bigquery.NewClient(context.Background(), "proj",
		option.WithEndpoint(srv.URL+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return s, srv, c
}

var schema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType, Required: true},
	{Name: "occurredAt", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "latencyMs", Type: bigquery.IntegerFieldType},
	{Name: "error", Type: bigquery.RecordFieldType, Schema: bigquery.Schema{
		{Name: "code", Type: bigquery.StringFieldType, Required: true},
	}},
}

// load runs a load job of ndjson with job id id, as the exporter does.
func load(ctx context.Context, c *bigquery.Client, id, ndjson string) (*bigquery.Job, error) {
	src := bigquery.NewReaderSource(strings.NewReader(ndjson))
	src.SourceFormat = bigquery.JSON
	src.Schema = schema
	l := c.Dataset("audit").Table("activity").LoaderFrom(src)
	l.JobID = id
	l.WriteDisposition = bigquery.WriteAppend
	l.CreateDisposition = bigquery.CreateIfNeeded
	l.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(0)}
	return l.Run(ctx)
}

func rows(t *testing.T, srv *httptest.Server) []map[string]any {
	t.Helper()
	res, err := http.Get(srv.URL + "/__tables/audit/activity/rows")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Rows
}

const two = `{"id":"a","occurredAt":"2026-11-01T10:00:00.123456Z","latencyMs":5}
{"id":"b","occurredAt":"2026-11-01T10:00:01Z","error":{"code":"X"}}
`

func TestLoadJobOnceByID(t *testing.T) {
	t.Parallel()
	s, srv, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := load(ctx, c, "export-1", two)
	if err != nil {
		t.Fatal(err)
	}
	st, err := j.Wait(ctx)
	if err != nil || st.Err() != nil {
		t.Fatalf("wait: %v %v", err, st.Err())
	}
	if got := rows(t, srv); len(got) != 2 || got[0]["id"] != "a" || got[0]["occurredAt"] != "2026-11-01T10:00:00.123456Z" {
		t.Fatalf("rows %v", got)
	}
	// The same job id again: refused as a duplicate, nothing appended.
	_, err = load(ctx, c, "export-1", two)
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusConflict {
		t.Fatalf("second load with the same id: %v, want 409", err)
	}
	if got := rows(t, srv); len(got) != 2 {
		t.Fatalf("%d rows after a duplicate job, want 2", len(got))
	}
	// The job is there to ask about.
	j2, err := c.JobFromID(ctx, "export-1")
	if err != nil {
		t.Fatal(err)
	}
	if st := j2.LastStatus(); st == nil || st.State != bigquery.Done || st.Err() != nil {
		t.Fatalf("job status %+v", st)
	}
	md, err := c.Dataset("audit").Table("activity").Metadata(ctx)
	if err != nil || md.NumRows != 2 || len(md.Schema) != 4 {
		t.Fatalf("table metadata %+v, %v", md, err)
	}
	if n := s.Count("POST", "/upload/bigquery/v2/projects/proj/jobs"); n != 2 {
		t.Errorf("stats: %d job inserts, want 2", n)
	}
}

// The classic trap: the job is accepted and its rows stored, then the
// connection drops. The client sees an error, and a retry with a fresh id
// would duplicate; the same id is refused and the job reads DONE.
func TestAcceptedThenDropped(t *testing.T) {
	t.Parallel()
	s, srv, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.SetFault(fakes.Fault{Path: "/upload/", DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := load(ctx, c, "export-7", two); err == nil {
		t.Fatal("load through a dropped connection succeeded")
	}
	s.ClearFaults()
	if got := rows(t, srv); len(got) != 2 {
		t.Fatalf("%d rows after the drop, want the 2 the job loaded", len(got))
	}
	if _, err := load(ctx, c, "export-7", two); err == nil {
		t.Fatal("the same job id loaded twice")
	}
	if _, err := load(ctx, c, "export-7-retry", two); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, srv); len(got) != 4 {
		t.Fatalf("%d rows, want 4: a fresh id duplicates, as against BigQuery", len(got))
	}
}

// A row the schema refuses fails the whole job; nothing lands.
func TestLoadIsAtomic(t *testing.T) {
	t.Parallel()
	_, srv, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, bad := range []string{
		two + `{"id":"c","occurredAt":"2026-11-01T10:00:02Z","extra":1}` + "\n",
		two + `{"occurredAt":"2026-11-01T10:00:02Z"}` + "\n",
		two + `{"id":"c","occurredAt":"yesterday"}` + "\n",
		two + `not json` + "\n",
	} {
		j, err := load(ctx, c, "bad-"+string(rune('a'+i)), bad)
		if err != nil {
			t.Fatal(err)
		}
		st, err := j.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Err() == nil {
			t.Errorf("load %d: job succeeded", i)
		}
	}
	if got := rows(t, srv); len(got) != 0 {
		t.Fatalf("%d rows after failed jobs, want 0", len(got))
	}
}
