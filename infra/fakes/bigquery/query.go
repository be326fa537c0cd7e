package bigquery

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
)

// chainQuery is the one query the fake runs (see the package comment).
var chainQuery = regexp.MustCompile("^\\s*SELECT \\* FROM `([^`.]+)\\.([^`.]+)\\.([^`.]+)`\\s+WHERE chainSeq IS NOT NULL\\s+ORDER BY tenantId, chainSeq\\s*$")

const defaultPage = 1000

func (s *Service) query(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query         string `json:"query"`
		UseLegacySQL  *bool  `json:"useLegacySql"`
		MaxResults    int    `json:"maxResults"`
		Location      string `json:"location"`
		FormatOptions struct {
			UseInt64Timestamp bool `json:"useInt64Timestamp"`
		} `json:"formatOptions"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxJobMeta)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid", "query request: "+err.Error())
		return
	}
	project := r.PathValue("project")
	m := chainQuery.FindStringSubmatch(req.Query)
	switch {
	case req.UseLegacySQL == nil || *req.UseLegacySQL:
		apiError(w, http.StatusBadRequest, "invalidQuery", "the BigQuery fake runs standard SQL only")
		return
	case m == nil:
		apiError(w, http.StatusBadRequest, "invalidQuery", "the BigQuery fake runs one query: SELECT * FROM `project.dataset.table` WHERE chainSeq IS NOT NULL ORDER BY tenantId, chainSeq")
		return
	}
	s.mu.Lock()
	t := s.tables[m[2]+"."+m[3]]
	if t == nil {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "notFound", "Not found: Table "+m[1]+":"+m[2]+"."+m[3])
		return
	}
	type keyed struct {
		tenant string
		seq    int64
		raw    json.RawMessage
	}
	var sel []keyed
	for _, raw := range t.rows {
		var k struct {
			TenantID string          `json:"tenantId"`
			ChainSeq json.RawMessage `json:"chainSeq"`
		}
		if json.Unmarshal(raw, &k) != nil || len(k.ChainSeq) == 0 || string(k.ChainSeq) == "null" {
			continue
		}
		seq, err := strconv.ParseInt(strings.Trim(string(k.ChainSeq), `"`), 10, 64)
		if err != nil {
			continue
		}
		sel = append(sel, keyed{k.TenantID, seq, raw})
	}
	sch := t.sch
	id := "fakequery_" + strconv.Itoa(len(s.jobs)+1)
	slices.SortStableFunc(sel, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.seq, b.seq))
	})
	result := make([]json.RawMessage, len(sel))
	for i, k := range sel {
		result[i] = k.raw
	}
	loc := cmp.Or(req.Location, "US")
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	res := map[string]any{
		"kind":          "bigquery#job",
		"id":            project + ":" + loc + "." + id,
		"jobReference":  map[string]any{"projectId": project, "jobId": id, "location": loc},
		"configuration": map[string]any{"query": map[string]any{"query": req.Query, "useLegacySql": false}},
		"status":        map[string]any{"state": "DONE"},
		"statistics":    map[string]any{"creationTime": now, "startTime": now, "endTime": now, "query": map[string]any{"totalBytesProcessed": "0"}},
	}
	s.jobs[project+"/"+id] = &job{resource: res, result: result, sch: sch}
	s.mu.Unlock()

	out, err := page(result, sch, "", req.MaxResults, req.FormatOptions.UseInt64Timestamp)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	out["kind"] = "bigquery#queryResponse"
	out["jobReference"] = res["jobReference"]
	fakes.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) queryResults(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.jobs[r.PathValue("project")+"/"+r.PathValue("job")]
	s.mu.Unlock()
	if j == nil || j.result == nil { // a load job has no results either
		apiError(w, http.StatusNotFound, "notFound", "Not found: Job "+r.PathValue("project")+":"+r.PathValue("job"))
		return
	}
	q := r.URL.Query()
	maxResults, _ := strconv.Atoi(q.Get("maxResults"))
	out, err := page(j.result, j.sch, q.Get("pageToken"), maxResults, q.Get("formatOptions.useInt64Timestamp") == "true")
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	out["kind"] = "bigquery#getQueryResultsResponse"
	out["jobReference"] = j.resource["jobReference"]
	fakes.WriteJSON(w, http.StatusOK, out)
}

// page is one page of a result: from the row pageToken names (an offset
// here; opaque to the client), at most maxResults rows.
func page(result []json.RawMessage, sch schema, token string, maxResults int, int64TS bool) (map[string]any, error) {
	from := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "p"))
		if err != nil || !strings.HasPrefix(token, "p") || n < 0 || n > len(result) {
			return nil, errInvalidToken
		}
		from = n
	}
	if maxResults <= 0 {
		maxResults = defaultPage
	}
	to := min(from+maxResults, len(result))
	rows := make([]any, 0, to-from)
	for _, raw := range result[from:to] {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		rows = append(rows, tableRow(sch.Fields, obj, int64TS))
	}
	out := map[string]any{"jobComplete": true, "schema": sch, "rows": rows, "totalRows": strconv.Itoa(len(result))}
	if to < len(result) {
		out["pageToken"] = "p" + strconv.Itoa(to)
	}
	return out, nil
}

var errInvalidToken = errors.New("invalid page token")

// tableRow is obj in the REST API's row shape: {"f": [{"v": …}, …]}.
func tableRow(fields []Field, obj map[string]any, int64TS bool) map[string]any {
	f := make([]any, len(fields))
	for i, fd := range fields {
		f[i] = map[string]any{"v": cellValue(fd, obj[fd.Name], int64TS)}
	}
	return map[string]any{"f": f}
}

func cellValue(fd Field, v any, int64TS bool) any {
	if v == nil {
		return nil
	}
	switch strings.ToUpper(fd.Type) {
	case "RECORD", "STRUCT":
		sub, _ := v.(map[string]any)
		return tableRow(fd.Fields, sub, int64TS)
	case "INTEGER", "INT64":
		switch x := v.(type) {
		case float64:
			return strconv.FormatInt(int64(x), 10)
		case string:
			return x
		}
	case "TIMESTAMP":
		x, _ := v.(string)
		at, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		if int64TS {
			return strconv.FormatInt(at.UnixMicro(), 10)
		}
		return strconv.FormatFloat(float64(at.UnixMicro())/1e6, 'f', 6, 64)
	}
	if x, ok := v.(string); ok {
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// editRow merges the body's fields into the row whose id is {id}: an edit
// behind the exporter's back, as someone with write access to the table
// could make (tests of the ledger's verification use it).
func (s *Service) editRow(w http.ResponseWriter, r *http.Request) {
	var patch map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRow)).Decode(&patch); err != nil {
		fakes.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.findRow(r)
	if i < 0 {
		fakes.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "no such row"})
		return
	}
	var obj map[string]any
	_ = json.Unmarshal(t.rows[i], &obj)
	for k, v := range patch {
		obj[k] = v
	}
	if err := checkObject(t.sch.Fields, obj); err != nil {
		fakes.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	b, _ := json.Marshal(obj)
	t.rows[i] = b
	w.WriteHeader(http.StatusNoContent)
}

// deleteRow deletes the row whose id is {id} (tests).
func (s *Service) deleteRow(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.findRow(r)
	if i < 0 {
		fakes.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "no such row"})
		return
	}
	t.rows = slices.Delete(t.rows, i, i+1)
	s.rows--
	w.WriteHeader(http.StatusNoContent)
}

// findRow is the table and index of the row {id} (-1: none). s.mu held.
func (s *Service) findRow(r *http.Request) (*table, int) {
	t := s.tables[r.PathValue("dataset")+"."+r.PathValue("table")]
	if t == nil {
		return nil, -1
	}
	for i, raw := range t.rows {
		var k struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &k) == nil && k.ID == r.PathValue("id") {
			return t, i
		}
	}
	return t, -1
}
