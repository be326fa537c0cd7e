package e2e

import (
	"fmt"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// TestFolioActions: a refund needs the override right and MFA; with an
// attestation it posts once, and its retry (same Idempotency-Key) reaches
// folio-service no second time; a large adjustment needs MFA, a small one
// does not; an out-of-scope folio is refused before any posting.
func TestFolioActions(t *testing.T) {
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole(mg))
	_, fdOp := e.operator(0, hasRole(fd))
	tok, fdTok := e.mint(tn, mgr, 0, nil), e.mint(tn, fdOp, 0, nil)
	fol, cur := e.inHouseFolio(tn.ID, mgr.PropertyScope[0])
	fk := e.srv.Folio
	key := func() []string { return []string{"Idempotency-Key", ids.New("fol")} }
	refund := fmt.Sprintf(`{"amountMinor":12900,"currency":%q,"reason":"charged twice","paymentId":"pay-7"}`, cur)

	if res := e.do("POST", "/v1/folios/"+fol+"/refunds", fdTok, refund, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("front desk refund: HTTP %d %s", res.StatusCode, res.body)
	}
	if res := e.do("POST", "/v1/folios/"+fol+"/refunds", tok, refund, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED" {
		t.Fatalf("refund without MFA: HTTP %d %s", res.StatusCode, res.body)
	}
	res := e.do("POST", "/v1/mfa/challenges", tok, `{"scope":"refund","factor":"totp"}`, key()...)
	var ch struct{ ChallengeID string }
	res.json(t, &ch)
	res = e.do("POST", "/v1/mfa/challenges/"+ch.ChallengeID+"/verify", tok, fmt.Sprintf(`{"code":%q}`, e.srv.IAM.MFADevCode()), key()...)
	var att struct{ ID string }
	res.json(t, &att)
	hdr := append(key(), "X-MFA-Attestation", att.ID)
	first := e.do("POST", "/v1/folios/"+fol+"/refunds", tok, refund, hdr...)
	if first.StatusCode != 201 || fk.Posted("refunds") != 1 {
		t.Fatalf("refund: HTTP %d %s (posted %d)", first.StatusCode, first.body, fk.Posted("refunds"))
	}
	again := e.do("POST", "/v1/folios/"+fol+"/refunds", tok, refund, hdr...)
	if again.StatusCode != 201 || string(again.body) != string(first.body) || fk.Posted("refunds") != 1 {
		t.Fatalf("retry: HTTP %d %s (posted %d)", again.StatusCode, again.body, fk.Posted("refunds"))
	}
	// Adjustments: over the tenant's threshold (default 50000) MFA is due.
	big := fmt.Sprintf(`{"amountMinor":-60000,"currency":%q,"reason":"comp"}`, cur)
	if res := e.do("POST", "/v1/folios/"+fol+"/adjustments", tok, big, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED" {
		t.Fatalf("large adjustment without MFA: HTTP %d %s", res.StatusCode, res.body)
	}
	small := fmt.Sprintf(`{"amountMinor":-2500,"currency":%q,"reason":"noisy room"}`, cur)
	if res := e.do("POST", "/v1/folios/"+fol+"/adjustments", tok, small, key()...); res.StatusCode != 201 || fk.Posted("adjustments") != 1 {
		t.Fatalf("small adjustment: HTTP %d %s", res.StatusCode, res.body)
	}
	// A folio of a property outside the front desk operator's scope: refused
	// before any posting.
	for _, p := range tn.Properties {
		in := false
		for _, s := range fdOp.PropertyScope {
			in = in || s == p.ID
		}
		if in {
			continue
		}
		other, oc := e.inHouseFolio(tn.ID, p.ID)
		before := fk.Posted("adjustments")
		res := e.do("POST", "/v1/folios/"+other+"/adjustments", fdTok, fmt.Sprintf(`{"amountMinor":-100,"currency":%q,"reason":"x"}`, oc), key()...)
		if res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" || fk.Posted("adjustments") != before {
			t.Fatalf("out of scope: HTTP %d %s", res.StatusCode, res.body)
		}
		break
	}
}
