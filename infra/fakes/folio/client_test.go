package folio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/folio"
	folioc "github.com/melmastoon/bff-backoffice/shared/upstream/folio"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// The shared/upstream/folio client against this fake.
func TestClientAgainstTheFake(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	ops := demo.NewOps(ds, nil)
	s := folio.New(ops, fakes.WithLatency(0, 0))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Fake().Close(); srv.Close() })
	cl, err := folioc.NewClient(folioc.Config{URL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tn, other := ds.Tenants[0], ds.Tenants[1]
	prop := tn.Properties[0].ID
	sn, _ := ops.Snapshot(tn.ID, prop)
	var fol string
	for _, st := range sn.InHouse().Items {
		if st.FolioID != "" {
			fol = st.FolioID
			break
		}
	}
	f, err := cl.Folio(ctx, tn.ID, fol)
	if err != nil || f.PropertyID != prop {
		t.Fatalf("folio = %+v, %v", f, err)
	}
	if _, err := cl.Folio(ctx, other.ID, fol); !errors.Is(err, httpc.ErrNotFound) {
		t.Fatalf("another tenant's folio: %v", err)
	}
	req := folioc.Request{TenantID: tn.ID, PropertyID: prop, FolioID: fol, Kind: "refunds", RequestID: "r1",
		AmountMinor: 4200, Currency: f.Currency, Reason: "double charge", PaymentID: "pay_9"}
	p1, err := cl.Post(ctx, req)
	if err != nil || p1.AmountMinor != 4200 {
		t.Fatalf("refund = %+v, %v", p1, err)
	}
	p2, err := cl.Post(ctx, req)
	if err != nil || p2.PostingID != p1.PostingID || s.Posted("refunds") != 1 {
		t.Fatalf("retry = %+v, %v (posted %d)", p2, err, s.Posted("refunds"))
	}
	req.RequestID, req.Currency = "r2", "XXX"
	var ref *folioc.Refusal
	if _, err := cl.Post(ctx, req); !errors.As(err, &ref) || ref.Status != http.StatusUnprocessableEntity || ref.Code != "MELMASTOON.FOLIO.CURRENCY_MISMATCH" {
		t.Fatalf("currency mismatch = %v", err)
	}
}
