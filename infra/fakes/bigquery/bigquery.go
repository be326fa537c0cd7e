// Package bigquery is a fake of the BigQuery REST surface the official Go
// client (cloud.google.com/go/bigquery) uses for load jobs, pointed at it
// with option.WithEndpoint(URL + "/bigquery/v2/") and
// option.WithoutAuthentication():
//
//	POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart   jobs.insert with media (a load job)
//	GET  /bigquery/v2/projects/{p}/jobs/{jobId}                       jobs.get
//	GET  /bigquery/v2/projects/{p}/datasets/{d}/tables/{t}            tables.get
//	POST /bigquery/v2/projects/{p}/datasets/{d}/tables                tables.insert
//	POST /bigquery/v2/projects/{p}/queries                            jobs.query (one query shape, below)
//	GET  /bigquery/v2/projects/{p}/queries/{jobId}                    jobs.getQueryResults (pages)
//	GET  /__tables/{dataset}/{table}/rows → {"rows": [{…}, …]}        every row held (control)
//	PATCH  /__tables/{dataset}/{table}/rows/{id}  {"field": value, …}  edit a row in place (control, tests)
//	DELETE /__tables/{dataset}/{table}/rows/{id}                      delete a row (control, tests)
//
// Queries: the fake runs one shape, the verify-ledger job's read of the
// exported chain, and refuses any other with 400 invalidQuery:
//
//	SELECT * FROM `project.dataset.table` WHERE chainSeq IS NOT NULL ORDER BY tenantId, chainSeq
//
// The result is fixed when the query runs (as BigQuery's is) and served in
// pages: rows as {"f": [{"v": …}]} in the table schema's order, integers
// as strings, timestamps as microseconds (formatOptions.useInt64Timestamp,
// which the client sends) or float seconds, records nested; the first
// page in the jobs.query answer, the rest by pageToken. maxResults bounds
// a page (default 1,000), so a client holds a page, not the table.
//
// It keeps what makes an exporter exactly-once or not: a job id is unique
// in the project (a second insert of the same id is 409 duplicate and
// loads nothing), a load job's rows land all together or not at all (a
// row the schema refuses fails the whole job), and with the shared
// "dropAfter" fault the job is accepted and its rows stored before the
// connection drops, so the client cannot tell — an exporter that retries
// with a fresh job id duplicates rows here as it would against BigQuery.
// Jobs finish at once (DONE on insert); the client still polls jobs.get.
// Only newline-delimited JSON loads are supported, and only multipart
// uploads (googleapi.ChunkSize(0): the client streams the rows in one
// request instead of buffering chunks).
package bigquery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
)

// Limits that keep a runaway client from exhausting the dev machine.
const (
	maxJobMeta = 1 << 20  // the job resource part of an upload
	maxRow     = 1 << 20  // one NDJSON line
	maxRows    = 20 << 20 // rows held in all
)

// Field is a table schema field, as the REST API spells it.
type Field struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Mode   string  `json:"mode,omitempty"`
	Fields []Field `json:"fields,omitempty"`
}

type schema struct {
	Fields []Field `json:"fields"`
}

type tableRef struct {
	ProjectID string `json:"projectId"`
	DatasetID string `json:"datasetId"`
	TableID   string `json:"tableId"`
}

// table is a table held: its resource (as inserted) and its rows.
type table struct {
	meta map[string]any
	sch  schema
	rows []json.RawMessage
}

type job struct {
	resource map[string]any
	// A query's result, fixed when it ran.
	result []json.RawMessage
	sch    schema
}

// Service is the fake's state. Safe for concurrent use.
type Service struct {
	*fakes.Fake

	mu     sync.Mutex
	tables map[string]*table // "dataset.table"
	jobs   map[string]*job   // "project/jobId"
	rows   int
	now    func() time.Time
}

// New returns the fake, its handler wrapped with stats and faults.
func New(opts ...fakes.Option) *Service {
	s := &Service{tables: map[string]*table{}, jobs: map[string]*job{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload/bigquery/v2/projects/{project}/jobs", s.insertJob)
	mux.HandleFunc("GET /bigquery/v2/projects/{project}/jobs/{job}", s.getJob)
	mux.HandleFunc("GET /bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}", s.getTable)
	mux.HandleFunc("POST /bigquery/v2/projects/{project}/datasets/{dataset}/tables", s.insertTable)
	mux.HandleFunc("POST /bigquery/v2/projects/{project}/queries", s.query)
	mux.HandleFunc("GET /bigquery/v2/projects/{project}/queries/{job}", s.queryResults)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotImplemented, "notImplemented", "the BigQuery fake does not serve "+r.Method+" "+r.URL.Path)
	})
	ctl := http.NewServeMux()
	ctl.HandleFunc("GET /__tables/{dataset}/{table}/rows", s.tableRows)
	ctl.HandleFunc("PATCH /__tables/{dataset}/{table}/rows/{id}", s.editRow)
	ctl.HandleFunc("DELETE /__tables/{dataset}/{table}/rows/{id}", s.deleteRow)
	s.Fake = fakes.New("bigquery", mux, append(opts, fakes.WithControl("/__tables/", ctl))...)
	return s
}

// Rows returns a copy of the rows of dataset.table (nil if there is none).
func (s *Service) Rows(dataset, tbl string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[dataset+"."+tbl]
	if t == nil {
		return nil
	}
	return slices.Clone(t.rows)
}

func (s *Service) tableRows(w http.ResponseWriter, r *http.Request) {
	rows := s.Rows(r.PathValue("dataset"), r.PathValue("table"))
	if rows == nil {
		rows = []json.RawMessage{}
	}
	fakes.WriteJSON(w, http.StatusOK, map[string]any{"rows": rows})
}

// apiError writes BigQuery's error shape, which the client turns into a
// *googleapi.Error with Code and the reason in Errors.
func apiError(w http.ResponseWriter, status int, reason, msg string) {
	fakes.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []map[string]any{{"reason": reason, "message": msg, "domain": "global"}},
	}})
}

func (s *Service) getTable(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[r.PathValue("dataset")+"."+r.PathValue("table")]
	if t == nil {
		apiError(w, http.StatusNotFound, "notFound", "Not found: Table "+r.PathValue("project")+":"+r.PathValue("dataset")+"."+r.PathValue("table"))
		return
	}
	fakes.WriteJSON(w, http.StatusOK, t.resource())
}

func (t *table) resource() map[string]any {
	out := map[string]any{}
	for k, v := range t.meta {
		out[k] = v
	}
	out["kind"] = "bigquery#table"
	out["numRows"] = strconv.Itoa(len(t.rows))
	out["type"] = "TABLE"
	return out
}

func (s *Service) insertTable(w http.ResponseWriter, r *http.Request) {
	var meta map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, maxJobMeta)).Decode(&meta); err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "table resource: "+err.Error())
		return
	}
	t, err := s.createTable(r.PathValue("dataset"), meta)
	var exists tableExistsError
	switch {
	case errors.As(err, &exists):
		apiError(w, http.StatusConflict, "duplicate", "Already Exists: Table "+r.PathValue("project")+":"+string(exists))
	case err != nil:
		apiError(w, http.StatusBadRequest, "invalid", err.Error())
	default:
		fakes.WriteJSON(w, http.StatusOK, t.resource())
	}
}

// CreateTable creates a table of dataset from its REST resource
// (tableReference, schema, and what else the resource holds), as
// `tables.insert` does: for a stack whose tables exist before the first
// load, as terraform makes them in production.
func (s *Service) CreateTable(dataset string, resource map[string]any) error {
	_, err := s.createTable(dataset, resource)
	return err
}

// tableExistsError names the dataset.table that exists already.
type tableExistsError string

func (e tableExistsError) Error() string { return "already exists: table " + string(e) }

func (s *Service) createTable(dataset string, meta map[string]any) (*table, error) {
	var ref struct {
		TableReference tableRef `json:"tableReference"`
		Schema         schema   `json:"schema"`
	}
	b, _ := json.Marshal(meta)
	_ = json.Unmarshal(b, &ref)
	if ref.TableReference.TableID == "" || len(ref.Schema.Fields) == 0 {
		return nil, errors.New("a table needs a tableReference and a schema")
	}
	key := dataset + "." + ref.TableReference.TableID
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[key] != nil {
		return nil, tableExistsError(key)
	}
	t := &table{meta: meta, sch: ref.Schema}
	s.tables[key] = t
	return t, nil
}

func (s *Service) getJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.jobs[r.PathValue("project")+"/"+r.PathValue("job")]
	s.mu.Unlock()
	if j == nil {
		apiError(w, http.StatusNotFound, "notFound", "Not found: Job "+r.PathValue("project")+":"+r.PathValue("job"))
		return
	}
	fakes.WriteJSON(w, http.StatusOK, j.resource)
}

// loadJob is the part of a load job's resource the fake acts on.
type loadJob struct {
	JobReference struct {
		ProjectID string `json:"projectId"`
		JobID     string `json:"jobId"`
		Location  string `json:"location"`
	} `json:"jobReference"`
	Configuration struct {
		Load *struct {
			DestinationTable  tableRef `json:"destinationTable"`
			Schema            *schema  `json:"schema"`
			SourceFormat      string   `json:"sourceFormat"`
			WriteDisposition  string   `json:"writeDisposition"`
			CreateDisposition string   `json:"createDisposition"`
			TimePartitioning  any      `json:"timePartitioning"`
			Clustering        any      `json:"clustering"`
		} `json:"load"`
	} `json:"configuration"`
}

func (s *Service) insertJob(w http.ResponseWriter, r *http.Request) {
	if ut := r.URL.Query().Get("uploadType"); ut != "multipart" {
		apiError(w, http.StatusNotImplemented, "notImplemented", "the BigQuery fake takes multipart uploads only (uploadType="+ut+"); load with googleapi.ChunkSize(0)")
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" {
		apiError(w, http.StatusBadRequest, "invalid", "want a multipart/related upload")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	metaPart, err := mr.NextPart()
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "upload: no job resource part")
		return
	}
	var raw map[string]any
	metaBytes, err := io.ReadAll(io.LimitReader(metaPart, maxJobMeta))
	if err == nil {
		err = json.Unmarshal(metaBytes, &raw)
	}
	var lj loadJob
	if err == nil {
		err = json.Unmarshal(metaBytes, &lj)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "job resource: "+err.Error())
		return
	}
	project := r.PathValue("project")
	load := lj.Configuration.Load
	switch {
	case load == nil:
		apiError(w, http.StatusBadRequest, "invalid", "the BigQuery fake runs load jobs only")
		return
	case lj.JobReference.JobID == "":
		apiError(w, http.StatusBadRequest, "invalid", "the BigQuery fake needs a client-chosen job id (a load without one could not be deduplicated)")
		return
	case load.SourceFormat != "NEWLINE_DELIMITED_JSON":
		apiError(w, http.StatusBadRequest, "invalid", "sourceFormat must be NEWLINE_DELIMITED_JSON")
		return
	case load.WriteDisposition != "" && load.WriteDisposition != "WRITE_APPEND":
		apiError(w, http.StatusBadRequest, "invalid", "writeDisposition must be WRITE_APPEND")
		return
	}
	key := project + "/" + lj.JobReference.JobID
	s.mu.Lock()
	dup := s.jobs[key] != nil
	s.mu.Unlock()
	if dup {
		// BigQuery refuses a job id it has seen, whatever the upload
		// carries: the rerun's rows never land twice.
		apiError(w, http.StatusConflict, "duplicate", "Already Exists: Job "+project+":"+lj.JobReference.Location+"."+lj.JobReference.JobID)
		return
	}
	mediaPart, err := mr.NextPart()
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "upload: no media part")
		return
	}
	// The rows are read and checked before anything lands: a load job is
	// atomic.
	rows, loadErr := readRows(mediaPart)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs[key] != nil { // an overlapping insert of the same id won
		apiError(w, http.StatusConflict, "duplicate", "Already Exists: Job "+project+":"+lj.JobReference.Location+"."+lj.JobReference.JobID)
		return
	}
	dst := load.DestinationTable
	tkey := dst.DatasetID + "." + dst.TableID
	t := s.tables[tkey]
	if loadErr == nil && t == nil {
		if load.CreateDisposition == "CREATE_NEVER" || load.Schema == nil {
			loadErr = fmt.Errorf("not found: table %s:%s", project, tkey)
		} else {
			t = &table{sch: *load.Schema, meta: map[string]any{
				"tableReference": dst, "schema": load.Schema,
			}}
			if load.TimePartitioning != nil {
				t.meta["timePartitioning"] = load.TimePartitioning
			}
			if load.Clustering != nil {
				t.meta["clustering"] = load.Clustering
			}
			s.tables[tkey] = t
		}
	}
	if loadErr == nil {
		loadErr = checkRows(t.sch, rows)
	}
	if loadErr == nil && s.rows+len(rows) > maxRows {
		loadErr = fmt.Errorf("the fake holds at most %d rows", maxRows)
	}
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	status := map[string]any{"state": "DONE"}
	stats := map[string]any{"creationTime": now, "startTime": now, "endTime": now}
	if loadErr != nil {
		e := map[string]any{"reason": "invalid", "message": loadErr.Error()}
		status["errorResult"] = e
		status["errors"] = []any{e}
	} else {
		t.rows = append(t.rows, rows...)
		s.rows += len(rows)
		stats["load"] = map[string]any{"outputRows": strconv.Itoa(len(rows)), "inputFiles": "1"}
	}
	if raw["jobReference"] == nil {
		raw["jobReference"] = map[string]any{}
	}
	ref := raw["jobReference"].(map[string]any)
	ref["projectId"] = project
	if ref["location"] == nil || ref["location"] == "" {
		ref["location"] = "US"
	}
	raw["kind"] = "bigquery#job"
	raw["id"] = project + ":" + ref["location"].(string) + "." + lj.JobReference.JobID
	raw["status"] = status
	raw["statistics"] = stats
	s.jobs[key] = &job{resource: raw}
	fakes.WriteJSON(w, http.StatusOK, raw)
}

// readRows reads newline-delimited JSON objects.
func readRows(r io.Reader) ([]json.RawMessage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRow)
	var rows []json.RawMessage
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) || line[0] != '{' {
			return nil, fmt.Errorf("error while reading data: JSON parsing error in row starting at line %d", n)
		}
		rows = append(rows, json.RawMessage(bytes.Clone(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("error while reading data: %v", err)
	}
	return rows, nil
}

// checkRows refuses rows the schema does not take: an unknown field (the
// client's default is ignoreUnknownValues false), a REQUIRED field absent
// or null, a value of the wrong JSON kind for its type.
func checkRows(sch schema, rows []json.RawMessage) error {
	for i, raw := range rows {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("row %d: %v", i+1, err)
		}
		if err := checkObject(sch.Fields, obj); err != nil {
			return fmt.Errorf("error while reading data: JSON table encountered too many errors; row %d: %v", i+1, err)
		}
	}
	return nil
}

func checkObject(fields []Field, obj map[string]any) error {
	for k := range obj {
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Name == k }) {
			return fmt.Errorf("no such field: %s", k)
		}
	}
	for _, f := range fields {
		v, ok := obj[f.Name]
		if !ok || v == nil {
			if strings.EqualFold(f.Mode, "REQUIRED") {
				return fmt.Errorf("missing required field: %s", f.Name)
			}
			continue
		}
		switch strings.ToUpper(f.Type) {
		case "STRING":
			if _, ok := v.(string); !ok {
				return fmt.Errorf("%s: not a string", f.Name)
			}
		case "INTEGER", "INT64":
			switch x := v.(type) {
			case float64:
			case string:
				if _, err := strconv.ParseInt(x, 10, 64); err != nil {
					return fmt.Errorf("%s: not an integer", f.Name)
				}
			default:
				return fmt.Errorf("%s: not an integer", f.Name)
			}
		case "TIMESTAMP":
			x, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s: not a timestamp", f.Name)
			}
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%s: not a timestamp: %q", f.Name, x)
			}
		case "RECORD", "STRUCT":
			sub, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not a record", f.Name)
			}
			if err := checkObject(f.Fields, sub); err != nil {
				return fmt.Errorf("%s.%v", f.Name, err)
			}
		}
	}
	return nil
}
