package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

var (
	tenant   = ids.New(ids.Tenant)
	property = ids.New(ids.Property)
)

func valid() Envelope {
	return Envelope{
		ID:         ids.New(ids.Event),
		Subject:    DashboardViewed,
		OccurredAt: jsontime.Of(time.Date(2026, 11, 22, 7, 0, 0, 123456789, time.UTC)),
		TenantID:   tenant,
		PropertyID: property,
		Data:       json.RawMessage(`{"a":1}`),
	}
}

// marshal is v's JSON; the envelopes these tests encode always encode.
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		mutate  func(*Envelope)
		wantErr string // substring; "" means valid
	}{
		{name: "valid", mutate: func(*Envelope) {}},
		{name: "no property (tenant-wide)", mutate: func(e *Envelope) { e.PropertyID = "" }},
		{name: "underscored subject", mutate: func(e *Envelope) { e.Subject = TenantBootstrapVersionChanged }},
		{name: "version 12", mutate: func(e *Envelope) { e.Subject = "melmastoon.x.y.v12" }},
		{name: "empty id", mutate: func(e *Envelope) { e.ID = "" }, wantErr: "id:"},
		{name: "id wrong prefix", mutate: func(e *Envelope) { e.ID = ids.New(ids.Alert) }, wantErr: "id:"},
		{name: "id not a ulid", mutate: func(e *Envelope) { e.ID = "evt_123" }, wantErr: "id:"},
		{name: "empty subject", mutate: func(e *Envelope) { e.Subject = "" }, wantErr: "subject"},
		{name: "subject other suite", mutate: func(e *Envelope) { e.Subject = "ghasi.iam.session.revoked.v1" }, wantErr: "subject"},
		{name: "subject no version", mutate: func(e *Envelope) { e.Subject = "melmastoon.iam.session.revoked" }, wantErr: "subject"},
		{name: "subject v0", mutate: func(e *Envelope) { e.Subject = "melmastoon.iam.session.revoked.v0" }, wantErr: "subject"},
		{name: "subject upper case", mutate: func(e *Envelope) { e.Subject = "melmastoon.IAM.session.revoked.v1" }, wantErr: "subject"},
		{name: "subject only version", mutate: func(e *Envelope) { e.Subject = "melmastoon.v1" }, wantErr: "subject"},
		{name: "subject empty segment", mutate: func(e *Envelope) { e.Subject = "melmastoon..x.v1" }, wantErr: "subject"},
		{name: "subject with slash", mutate: func(e *Envelope) { e.Subject = "melmastoon.a/b.v1" }, wantErr: "subject"},
		{name: "subject too long", mutate: func(e *Envelope) { e.Subject = "melmastoon." + strings.Repeat("a", 250) + ".v1" }, wantErr: "subject"},
		{name: "zero occurredAt", mutate: func(e *Envelope) { e.OccurredAt = jsontime.Time{} }, wantErr: "occurredAt"},
		{name: "empty tenant", mutate: func(e *Envelope) { e.TenantID = "" }, wantErr: "tenantId"},
		{name: "tenant wrong prefix", mutate: func(e *Envelope) { e.TenantID = property }, wantErr: "tenantId"},
		{name: "property wrong prefix", mutate: func(e *Envelope) { e.PropertyID = tenant }, wantErr: "propertyId"},
		{name: "nil data", mutate: func(e *Envelope) { e.Data = nil }, wantErr: "data"},
		{name: "null data", mutate: func(e *Envelope) { e.Data = json.RawMessage(`null`) }, wantErr: "data"},
		{name: "array data", mutate: func(e *Envelope) { e.Data = json.RawMessage(`[1]`) }, wantErr: "data"},
		{name: "string data", mutate: func(e *Envelope) { e.Data = json.RawMessage(`"x"`) }, wantErr: "data"},
		{name: "broken data", mutate: func(e *Envelope) { e.Data = json.RawMessage(`{"a":`) }, wantErr: "data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := valid()
			tc.mutate(&e)
			err := e.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateJoinsAllProblems(t *testing.T) {
	t.Parallel()
	err := Envelope{}.Validate()
	if err == nil {
		t.Fatal("Validate() of zero envelope = nil")
	}
	for _, want := range []string{"id:", "subject", "occurredAt", "tenantId", "data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %q", err, want)
		}
	}
}

func TestEnvelopeJSONShape(t *testing.T) {
	t.Parallel()
	e := valid()
	b := marshal(t, e)
	want := `{"id":"` + e.ID + `","subject":"melmastoon.bff.backoffice.dashboard.viewed.v1",` +
		`"occurredAt":"2026-11-22T07:00:00.123Z","tenantId":"` + tenant + `","propertyId":"` + property + `","data":{"a":1}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want, +got):\n%s", diff)
	}

	e.PropertyID = ""
	b = marshal(t, e)
	if strings.Contains(string(b), "propertyId") {
		t.Errorf("tenant-wide envelope JSON %s has propertyId", b)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		data any
	}{
		{name: "struct", data: struct {
			OperatorID string `json:"operatorId"`
			DeviceID   string `json:"deviceId,omitempty"`
		}{OperatorID: ids.New(ids.Operator)}},
		{name: "map", data: map[string]any{"version": 7, "nested": map[string]any{"x": []int{1, 2}}}},
		{name: "raw", data: json.RawMessage(`{"ids":["rsv_1"], "html":"<b>&</b>"}`)},
		{name: "empty object", data: struct{}{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(ReservationChanged, tenant, property, tc.data)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			b := marshal(t, e)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if diff := cmp.Diff(e, got, cmp.Comparer(func(a, b json.RawMessage) bool {
				var ca, cb bytes.Buffer
				return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && ca.String() == cb.String()
			})); diff != "" {
				t.Errorf("round trip (-want, +got):\n%s", diff)
			}
			// Encoding what was decoded gives the same bytes: a consumer
			// that re-publishes or stores an envelope does not alter it.
			b2 := marshal(t, got)
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoded\n%s\nwant\n%s", b2, b)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Millisecond)
	e, err := New(SessionOpened, tenant, "", map[string]string{"sessionId": "bos_x"})
	if err != nil {
		t.Fatal(err)
	}
	if !ids.Valid(ids.Event, e.ID) {
		t.Errorf("ID = %q", e.ID)
	}
	if e.OccurredAt.Before(before) || e.OccurredAt.After(time.Now()) {
		t.Errorf("OccurredAt = %v, not now", e.OccurredAt)
	}
	if e.PropertyID != "" {
		t.Errorf("PropertyID = %q, want empty", e.PropertyID)
	}
	e2, err := New(SessionOpened, tenant, "", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if e2.ID <= e.ID {
		t.Errorf("ids not increasing: %s then %s", e.ID, e2.ID)
	}

	bad := []struct {
		name                      string
		subject, tenant, property string
		data                      any
	}{
		{"bad subject", "bff.session.opened", tenant, "", struct{}{}},
		{"bad tenant", SessionOpened, "t1", "", struct{}{}},
		{"bad property", SessionOpened, tenant, "p1", struct{}{}},
		{"data not object", SessionOpened, tenant, "", []string{"x"}},
		{"nil data", SessionOpened, tenant, "", nil},
		{"unmarshalable data", SessionOpened, tenant, "", map[string]any{"f": func() {}}},
	}
	for _, tc := range bad {
		if _, err := New(tc.subject, tc.tenant, tc.property, tc.data); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	e := valid()
	good := marshal(t, e)
	obj := string(good[:len(good)-1]) // without the closing brace
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "valid", in: string(good), ok: true},
		{name: "surrounding whitespace", in: "\n " + string(good) + " \n", ok: true},
		{name: "empty", in: ""},
		{name: "not json", in: "hello"},
		{name: "array", in: "[" + string(good) + "]"},
		{name: "null", in: "null"},
		{name: "unknown field", in: obj + `,"extra":1}`},
		{name: "mis-cased field", in: strings.Replace(string(good), `"tenantId"`, `"TenantId"`, 1)},
		{name: "duplicate tenantId", in: obj + `,"tenantId":"` + ids.New(ids.Tenant) + `"}`},
		{name: "trailing object", in: string(good) + "{}"},
		{name: "trailing garbage", in: string(good) + "x"},
		{name: "truncated", in: obj},
		{name: "missing data", in: strings.Replace(string(good), `,"data":{"a":1}`, "", 1)},
		{name: "occurredAt not a time", in: strings.Replace(string(good), `"2026-11-22T07:00:00.123Z"`, `"yesterday"`, 1)},
		{name: "occurredAt null", in: strings.Replace(string(good), `"2026-11-22T07:00:00.123Z"`, `null`, 1)},
		{name: "id number", in: strings.Replace(string(good), `"`+e.ID+`"`, `42`, 1)},
		{name: "invalid tenant", in: strings.Replace(string(good), tenant, "ten_nope", 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tc.in))
			if tc.ok && err != nil {
				t.Fatalf("Decode(%s) = %v, want ok", tc.in, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Decode(%s) succeeded, want error", tc.in)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	all := append(Emitted(), Consumed()...)
	if len(Emitted()) != 12 || len(Consumed()) != 10 {
		t.Errorf("Emitted %d, Consumed %d subjects; want 12 and 10", len(Emitted()), len(Consumed()))
	}
	for _, s := range all {
		if err := CheckSubject(s); err != nil {
			t.Errorf("CheckSubject(%q) = %v", s, err)
		}
		if seen[s] {
			t.Errorf("subject %q listed twice", s)
		}
		seen[s] = true
	}
	for _, s := range Emitted() {
		if !strings.HasPrefix(s, "melmastoon.bff.backoffice.") {
			t.Errorf("emitted subject %q is not this service's", s)
		}
	}
	// Callers get copies; changing one cannot change the service's list.
	Emitted()[0] = "x"
	if Emitted()[0] != SessionOpened {
		t.Error("Emitted() exposes its backing array")
	}
}

func TestDiscardAndLogValidate(t *testing.T) {
	t.Parallel()
	bad := valid()
	bad.TenantID = ""
	var buf bytes.Buffer
	lp := Log{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	for _, p := range []Publisher{Discard{}, lp} {
		if err := p.Publish(context.Background(), valid(), bad); err == nil {
			t.Errorf("%T.Publish accepted an invalid envelope", p)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("Log logged events of a rejected batch: %s", buf.String())
	}
	e := valid()
	if err := lp.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), e.ID) {
		t.Errorf("Log output %s lacks the event id", buf.String())
	}
}

// BenchmarkNew is the cost of one view's telemetry envelope, built on the
// hot path of every dashboard and workbench view.
func BenchmarkNew(b *testing.B) {
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	data := struct {
		OperatorID string `json:"operatorId"`
		SessionID  string `json:"sessionId"`
	}{ids.New(ids.Operator), "bos_01ARZ3NDEKTSV4RRFFQ69G5FAV"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(DashboardViewed, tenant, prop, data); err != nil {
			b.Fatal(err)
		}
	}
}
