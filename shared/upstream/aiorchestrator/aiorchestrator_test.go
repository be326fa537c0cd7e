package aiorchestrator_test

// Calls against the real fake are in infra/fakes/aiorchestrator; these feed
// the client answers the fake never gives.

import (
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

var tid, pid = upstreamtest.IDs()

// serve answers body and reports the status query the client sent.
func serve(t *testing.T, body string) (*aiorchestrator.Client, *upstreamtest.Server) {
	return upstreamtest.Client(t, "AI_ORCHESTRATOR_SERVICE", body, aiorchestrator.NewClient)
}

const provenance = `{"model":"m","modelVersion":"1","promptVersion":"p@1","modelClass":"edge","signatureFingerprint":"sha256:ab"}`

func suggestion(id, fields string) string {
	return `{"suggestionId":"` + id + `","propertyId":"` + pid + `","category":"staffing","severity":"info",` +
		`"createdAt":"2026-11-23T10:00:00Z","expiresAt":"2026-11-23T12:00:00Z","title":"Add an attendant"` + fields + `}`
}

func TestSuggestionsCleans(t *testing.T) {
	t.Parallel()
	items := []string{
		suggestion("s1", `,"provenance":`+provenance+`,"proposal":{"action":"x"}`),
		suggestion("s2", `,"category":"weather","severity":"panic","proposal":[1,2],"provenance":{"model":"m","modelVersion":"1","promptVersion":"p","modelClass":"quantum","signatureFingerprint":"f"}`),
		suggestion("s3", `,"provenance":{"model":"","modelVersion":"1","promptVersion":"p","modelClass":"cloud","signatureFingerprint":"f"}`),
		suggestion("s4", ``),
		suggestion("bad id/../", `,"provenance":`+provenance),
		strings.Replace(suggestion("s6", `,"provenance":`+provenance), pid, ids.New(ids.Property), 1),
		suggestion("s7", `,"expiresAt":"2026-11-23T09:00:00Z"`),
		suggestion("s8", `,"createdAt":"yesterday"`),
		suggestion("s9", `,"title":" \u0007 "`),
	}
	c, srv := serve(t, `{"items":[`+strings.Join(items, ",")+`]}`)
	got, err := c.Suggestions(upstreamtest.Context(t), tid, pid, "")
	if err != nil {
		t.Fatal(err)
	}
	if q := srv.Queries()[0].Get("status"); q != "open" {
		t.Errorf("status sent %q, want open", q)
	}
	var kept []string
	for _, s := range got {
		kept = append(kept, s.SuggestionID)
	}
	if strings.Join(kept, ",") != "s1,s2,s3,s4" {
		t.Fatalf("kept %v", kept)
	}
	s1, s2, s3, s4 := got[0], got[1], got[2], got[3]
	if !s1.Displayable() || s1.Provenance.ModelClass != aiorchestrator.ModelEdge || string(s1.Proposal) != `{"action":"x"}` {
		t.Errorf("s1 %+v", s1)
	}
	if s2.Category != aiorchestrator.CategoryOther || s2.Severity != aiorchestrator.SeverityAttention || s2.Proposal != nil || s2.Displayable() {
		t.Errorf("s2 %+v", s2)
	}
	if s3.Displayable() || s4.Displayable() {
		t.Errorf("incomplete or missing provenance is displayable: %+v %+v", s3, s4)
	}
	if shown := aiorchestrator.Displayable(got); len(shown) != 1 || shown[0].SuggestionID != "s1" {
		t.Errorf("Displayable = %+v", shown)
	}
}

func TestSuggestionsStatus(t *testing.T) {
	t.Parallel()
	c, srv := serve(t, `{"items":[]}`)
	if got, err := c.Suggestions(upstreamtest.Context(t), tid, pid, aiorchestrator.StatusAll); err != nil || got == nil || srv.Queries()[0].Get("status") != "all" {
		t.Fatalf("all: %v, %v", got, err)
	}
	_, err := c.Suggestions(upstreamtest.Context(t), tid, pid, "expired")
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
}

func TestSummary(t *testing.T) {
	t.Parallel()
	c, _ := serve(t, `{"open":4,"actionRequired":1}`)
	if got, err := c.Summary(upstreamtest.Context(t), tid, pid); err != nil || got != (aiorchestrator.Summary{Open: 4, ActionRequired: 1}) {
		t.Fatalf("Summary = %+v, %v", got, err)
	}
	c, _ = serve(t, `{"open":-4,"actionRequired":1}`)
	_, err := c.Summary(upstreamtest.Context(t), tid, pid)
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}
