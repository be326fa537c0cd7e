package scopedtest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// SameJSON fails t unless want (the generator's document) and got (the
// client's typed result) encode to the same JSON: the client's types mirror
// the contract, so a clean answer survives decoding unchanged.
func SameJSON(t testing.TB, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var wv, gv any
	if err := json.Unmarshal(w, &wv); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(g, &gv); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wv, gv); d != "" {
		t.Errorf("%s: typed result differs from the upstream's answer (-want +got):\n%s", what, d)
	}
}
