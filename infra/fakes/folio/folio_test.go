package folio_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/folio"
)

func TestFolioPostings(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	ops := demo.NewOps(ds, nil)
	s := folio.New(ops, fakes.WithLatency(0, 0))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Fake().Close(); srv.Close() })
	tn := ds.Tenants[0]
	prop := tn.Properties[0].ID
	sn, err := ops.Snapshot(tn.ID, prop)
	if err != nil {
		t.Fatal(err)
	}
	var fol, cur string
	for _, st := range sn.InHouse().Items {
		if st.FolioID != "" {
			fol, cur = st.FolioID, st.BalanceDue.Currency
			break
		}
	}
	if fol == "" {
		t.Fatal("no folio in house")
	}
	resp, err := http.Get(srv.URL + "/v1/tenants/" + tn.ID + "/folios/" + fol)
	if err != nil {
		t.Fatal(err)
	}
	var f folio.Folio
	_ = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if resp.StatusCode != 200 || f.PropertyID != prop || f.Currency != cur {
		t.Fatalf("folio = %d %+v", resp.StatusCode, f)
	}
	post := func(path, key string, body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.URL+"/v1/tenants/"+tn.ID+"/properties/"+path, bytes.NewReader(b))
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	refund := map[string]any{"amountMinor": 1500, "currency": cur, "reason": "minibar", "paymentId": "pay_1"}
	if st := post(prop+"/folios/"+fol+"/refunds", "k1", refund); st != 201 {
		t.Fatalf("refund = %d", st)
	}
	if st := post(prop+"/folios/"+fol+"/refunds", "k1", refund); st != 201 || s.Posted("refunds") != 1 {
		t.Fatalf("replay = %d, posted %d", st, s.Posted("refunds"))
	}
	for key, c := range map[string]struct {
		path string
		body map[string]any
		want int
	}{
		"k2": {prop + "/folios/" + fol + "/refunds", map[string]any{"amountMinor": -5, "currency": cur, "reason": "x", "paymentId": "p"}, 422},
		"k3": {prop + "/folios/" + fol + "/adjustments", map[string]any{"amountMinor": 100, "currency": "XXX", "reason": "x"}, 422},
		"k4": {tn.Properties[1].ID + "/folios/" + fol + "/adjustments", map[string]any{"amountMinor": 100, "currency": cur, "reason": "x"}, 404},
		"k5": {prop + "/folios/" + fol + "/adjustments", map[string]any{"amountMinor": -2500, "currency": cur, "reason": "goodwill"}, 201},
	} {
		if st := post(c.path, key, c.body); st != c.want {
			t.Errorf("%s %v = %d, want %d", c.path, c.body, st, c.want)
		}
	}
	if s.Posted("adjustments") != 1 || s.Posted("refunds") != 1 {
		t.Fatalf("posted %d adjustments, %d refunds", s.Posted("adjustments"), s.Posted("refunds"))
	}
}
