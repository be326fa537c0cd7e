package inbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

func TestEntryIDIsStableAndDistinct(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC)
	a := EntryID(ids.AISuggestion, "ten_1", "sug-1", at)
	if err := ids.Check(ids.AISuggestion, a); err != nil {
		t.Fatalf("EntryID = %q: %v", a, err)
	}
	if b := EntryID(ids.AISuggestion, "ten_1", "sug-1", at); b != a {
		t.Fatalf("same item, ids %s and %s", a, b)
	}
	for name, other := range map[string]string{
		"other tenant":   EntryID(ids.AISuggestion, "ten_2", "sug-1", at),
		"other upstream": EntryID(ids.AISuggestion, "ten_1", "sug-2", at),
		"other kind":     strings.Replace(EntryID(ids.Alert, "ten_1", "sug-1", at), "ali_", "aim_", 1),
	} {
		if other == a {
			t.Errorf("%s: same id %s", name, a)
		}
	}
	// The ULID's time is when the item arose, so ids sort by it.
	if later := EntryID(ids.AISuggestion, "ten_1", "sug-0", at.Add(time.Millisecond)); later <= a {
		t.Errorf("id of a later item %s sorts before %s", later, a)
	}
	if id := EntryID(ids.Alert, "t", "x", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)); !ids.Valid(ids.Alert, id) {
		t.Errorf("time before the epoch: %q", id)
	}
}

func TestDecisionRequestValidation(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	cases := []struct {
		name    string
		req     DecisionRequest
		fields  []string // fields refused; none: accepted
		notes   int      // runes kept
		hasDiff bool
	}{
		{name: "accepted", req: DecisionRequest{Outcome: "accepted"}},
		{name: "rejected with notes", req: DecisionRequest{Outcome: "rejected", Notes: str("no")}, notes: 2},
		{name: "modified with delta", req: DecisionRequest{Outcome: "modified", ModifiedDelta: json.RawMessage(`{"rate":1}`)}, hasDiff: true},
		{name: "notes cut by characters", req: DecisionRequest{Outcome: "accepted", Notes: str(strings.Repeat("ü", 501))}, notes: 500},
		{name: "null delta is none", req: DecisionRequest{Outcome: "accepted", ModifiedDelta: json.RawMessage(`null`)}},
		{name: "unknown outcome", req: DecisionRequest{Outcome: "later"}, fields: []string{"outcome"}},
		{name: "modified without delta", req: DecisionRequest{Outcome: "modified"}, fields: []string{"modifiedDelta"}},
		{name: "delta not an object", req: DecisionRequest{Outcome: "modified", ModifiedDelta: json.RawMessage(`[1]`)}, fields: []string{"modifiedDelta"}},
		{name: "delta on accepted", req: DecisionRequest{Outcome: "accepted", ModifiedDelta: json.RawMessage(`{}`)}, fields: []string{"modifiedDelta"}},
		{name: "delta too large", req: DecisionRequest{Outcome: "modified", ModifiedDelta: json.RawMessage(`{"a":"` + strings.Repeat("x", 17<<10) + `"}`)}, fields: []string{"modifiedDelta"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.req.validate()
			if len(tc.fields) > 0 {
				ae := apperr.From(err)
				if err == nil || ae.Code != apperr.ValidationFailed || len(ae.Fields) != len(tc.fields) || ae.Fields[0].Field != tc.fields[0] {
					t.Fatalf("validate = %v, want VALIDATION_FAILED on %v", err, tc.fields)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate = %v", err)
			}
			if got := len([]rune(d.Notes)); got != tc.notes {
				t.Errorf("notes kept %d runes, want %d", got, tc.notes)
			}
			if (d.ModifiedDelta != nil) != tc.hasDiff || d.Outcome != aiorchestrator.Outcome(tc.req.Outcome) {
				t.Errorf("decision = %+v", d)
			}
		})
	}
}
