package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// TestReservationActions: force-checkout is not the front desk's; a
// reservation of a property outside the scope is refused before any
// mutation reaches reservation-service (its /__stats); force-checkout
// needs a force_checkout attestation; a retried action with the same
// Idempotency-Key — also after its first answer was lost — changes the
// stay once; refusals carry no upstream text.
func TestReservationActions(t *testing.T) {
	e := newEnv(t)
	// A front desk operator (that role alone) and a manager of one
	// property; an operator whose scope leaves a property of the tenant
	// out (the demo's is a night auditor, who may force a check-out: the
	// scope is checked first).
	nProps := len(e.srv.Demo.Tenants[0].Properties)
	tn, fdOp := e.operator(0, func(o demo.Operator) bool { return slices.Equal(o.Roles, []string{fd}) && len(o.PropertyScope) > 0 })
	prop := fdOp.PropertyScope[0]
	_, mgr := e.operator(0, func(o demo.Operator) bool { return hasRole(mg)(o) && slices.Contains(o.PropertyScope, prop) })
	_, narrow := e.operator(0, func(o demo.Operator) bool {
		return len(o.PropertyScope) > 0 && len(o.PropertyScope) < nProps && (hasRole(fd)(o) || hasRole(na)(o))
	})
	tok, fdTok, narrowTok := e.mint(tn, mgr, 0, nil), e.mint(tn, fdOp, 0, nil), e.mint(tn, narrow, 0, nil)
	fk := e.srv.Fleet.Reservation
	stays := e.inHouseStays(tn.ID, prop, 4)
	key := func() []string { return []string{"Idempotency-Key", ids.New("rsv")} }
	const force = `{"reason":"left without settling, keys returned by security"}`
	up := e.srv.Upstreams["reservation"]

	// Front desk may check in and out, never by force.
	if res := e.do("POST", "/v1/reservations/"+stays[0]+"/force-checkout", fdTok, force, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("front desk force-checkout: HTTP %d %s", res.StatusCode, res.body)
	}
	// The front desk cannot even ask for the step-up.
	if res := e.do("POST", "/v1/mfa/challenges", fdTok, `{"scope":"force_checkout","factor":"totp"}`, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("front desk force_checkout challenge: HTTP %d %s", res.StatusCode, res.body)
	}
	// A reservation of a property outside the narrow operator's scope.
	var outside string
	for _, p := range tn.Properties {
		if !slices.Contains(narrow.PropertyScope, p.ID) {
			outside = e.inHouseStays(tn.ID, p.ID, 1)[0]
			break
		}
	}
	for _, action := range []string{"check-in", "check-out", "force-checkout"} {
		body := `{}`
		if action == "force-checkout" {
			body = force
		}
		if res := e.do("POST", "/v1/reservations/"+outside+"/"+action, narrowTok, body, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" {
			t.Fatalf("out of scope %s: HTTP %d %s", action, res.StatusCode, res.body)
		}
	}
	if n := mutationCalls(t, up); n != 0 {
		t.Fatalf("%d mutation calls reached reservation-service before anything was allowed", n)
	}

	// Force-checkout: MFA first.
	if res := e.do("POST", "/v1/reservations/"+stays[0]+"/force-checkout", tok, force, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED" {
		t.Fatalf("force-checkout without MFA: HTTP %d %s", res.StatusCode, res.body)
	}
	att := e.attest(tok, "force_checkout")
	hdr := append(key(), "X-MFA-Attestation", att)
	first := e.do("POST", "/v1/reservations/"+stays[0]+"/force-checkout", tok, force, hdr...)
	var got struct{ ReservationID, PropertyID, Action, Status string }
	first.json(t, &got)
	if first.StatusCode != 200 || got.Status != "checked_out" || got.PropertyID != prop || got.Action != "force-checkout" || fk.Performed("force-checkout") != 1 {
		t.Fatalf("force-checkout: HTTP %d %s (performed %d)", first.StatusCode, first.body, fk.Performed("force-checkout"))
	}
	again := e.do("POST", "/v1/reservations/"+stays[0]+"/force-checkout", tok, force, hdr...)
	if again.StatusCode != 200 || string(again.body) != string(first.body) || again.Header.Get("Idempotent-Replayed") != "true" || fk.Performed("force-checkout") != 1 {
		t.Fatalf("retry: HTTP %d %s (performed %d)", again.StatusCode, again.body, fk.Performed("force-checkout"))
	}
	// The attestation was this action's: another action cannot spend it.
	if res := e.do("POST", "/v1/reservations/"+stays[1]+"/force-checkout", tok, force, append(key(), "X-MFA-Attestation", att)...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" {
		t.Fatalf("attestation reused: HTTP %d %s", res.StatusCode, res.body)
	}

	// The first answer is lost after reservation-service checked the guest
	// out: the client's retry with the same key changes nothing twice.
	rsvPath := "/v1/tenants/" + tn.ID + "/properties/" + prop + "/reservations/"
	control(t, up, "POST", "/__faults", fmt.Sprintf(`{"path":%q,"dropAfter":true}`, rsvPath+stays[1]))
	lost := key()
	if res := e.do("POST", "/v1/reservations/"+stays[1]+"/check-out", tok, `{}`, lost...); res.StatusCode != 503 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE" {
		t.Fatalf("check-out with its answer lost: HTTP %d %s", res.StatusCode, res.body)
	}
	if fk.Performed("check-out") != 1 {
		t.Fatalf("the lost check-out was not performed (%d): the test proves nothing", fk.Performed("check-out"))
	}
	control(t, up, "DELETE", "/__faults", "")
	// Go's transport itself resends a request carrying an Idempotency-Key
	// once when the connection drops: the lost attempt may be two calls.
	lostCalls := fk.Fake().Count("POST", rsvPath+stays[1]+"/check-out")
	retry := e.do("POST", "/v1/reservations/"+stays[1]+"/check-out", tok, `{}`, lost...)
	if retry.StatusCode != 200 || fk.Performed("check-out") != 1 || fk.Fake().Count("POST", rsvPath+stays[1]+"/check-out") != lostCalls+1 {
		t.Fatalf("retry after the lost answer: HTTP %d %s (performed %d, %d calls)", retry.StatusCode, retry.body,
			fk.Performed("check-out"), fk.Fake().Count("POST", rsvPath+stays[1]+"/check-out"))
	}

	// The front desk checks a guest out; a second check-out (another key)
	// is refused by reservation-service, mapped without its text.
	if res := e.do("POST", "/v1/reservations/"+stays[2]+"/check-out", fdTok, `{}`, key()...); res.StatusCode != 200 || fk.Performed("check-out") != 2 {
		t.Fatalf("front desk check-out: HTTP %d %s", res.StatusCode, res.body)
	}
	res := e.do("POST", "/v1/reservations/"+stays[2]+"/check-out", fdTok, `{}`, key()...)
	if res.StatusCode != 400 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" || strings.Contains(string(res.body), "MELMASTOON.RESERVATION") || strings.Contains(string(res.body), "checked_out,") {
		t.Fatalf("second check-out: HTTP %d %s", res.StatusCode, res.body)
	}
	// A check-in of a guest already in house: the same.
	if res := e.do("POST", "/v1/reservations/"+stays[3]+"/check-in", fdTok, `{}`, key()...); res.StatusCode != 400 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("check-in of a guest in house: HTTP %d %s", res.StatusCode, res.body)
	}
	// A check-in of an expected arrival, where the property's clock leaves
	// one (the demo's arrivals come between 14:00 and 23:00 local time).
	if arr := e.expectedArrival(tn.ID, fdOp.PropertyScope); arr != "" {
		var in struct{ Status string }
		res := e.do("POST", "/v1/reservations/"+arr+"/check-in", fdTok, `{}`, key()...)
		res.json(t, &in)
		if res.StatusCode != 200 || in.Status != "checked_in" || fk.Performed("check-in") != 1 {
			t.Fatalf("check-in: HTTP %d %s", res.StatusCode, res.body)
		}
	} else {
		t.Log("no expected arrival left at the front desk's properties at this hour: check-in success not exercised here (see infra/fakes/reservation on a fixed clock)")
	}

	// The ledger: a mutation_proxy row per attempt that reached the
	// action, with its outcome.
	var feed struct {
		Items []struct{ Action, Outcome, Category string } `json:"items"`
	}
	e.do("GET", "/v1/activity?operatorId="+mgr.ID+"&category=mutation_proxy", tok, "").json(t, &feed)
	outcomes := map[string][]string{}
	for _, it := range feed.Items {
		outcomes[it.Action] = append(outcomes[it.Action], it.Outcome)
	}
	if f := outcomes["reservation.force_checkout"]; !slices.Contains(f, "success") || !slices.Contains(f, "failure") {
		t.Fatalf("force-checkout rows %v (feed %+v)", f, feed.Items)
	}
	if c := outcomes["reservation.check_out"]; !slices.Contains(c, "success") || !slices.Contains(c, "failure") {
		t.Fatalf("check-out rows %v", c)
	}
}

// attest asks for and verifies a step-up of scope with the token's device.
func (e *env) attest(token, scope string) string {
	t := e.t
	t.Helper()
	res := e.do("POST", "/v1/mfa/challenges", token, fmt.Sprintf(`{"scope":%q,"factor":"totp"}`, scope), "Idempotency-Key", ids.New("mfa"))
	var ch struct{ ChallengeID string }
	res.json(t, &ch)
	res = e.do("POST", "/v1/mfa/challenges/"+ch.ChallengeID+"/verify", token, fmt.Sprintf(`{"code":%q}`, e.srv.IAM.MFADevCode()), "Idempotency-Key", ids.New("mfa"))
	var att struct{ ID string }
	res.json(t, &att)
	if res.StatusCode != 201 || att.ID == "" {
		t.Fatalf("verify: HTTP %d %s", res.StatusCode, res.body)
	}
	return att.ID
}

// inHouseStays are n reservations in house at the property now, past the
// first (which inHouse and inHouseFolio hand to the door-key and folio
// tests), so a check-out here never pulls a guest from under them.
func (e *env) inHouseStays(tenantID, propertyID string, n int) []string {
	e.t.Helper()
	sn, err := e.srv.Fleet.Reservation.Ops().Snapshot(tenantID, propertyID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, st := range sn.InHouse().Items[1:] {
		if len(out) == n {
			break
		}
		out = append(out, st.ReservationID)
	}
	if len(out) < n {
		e.t.Fatalf("fewer than %d guests in house at %s", n+1, propertyID)
	}
	return out
}

// expectedArrival is an arrival not yet checked in at one of the
// properties, "" when the day's have all arrived.
func (e *env) expectedArrival(tenantID string, props []string) string {
	for _, p := range props {
		sn, err := e.srv.Fleet.Reservation.Ops().Snapshot(tenantID, p)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, st := range sn.Arrivals(sn.Today).Items {
			if st.Status == demo.StayExpected {
				return st.ReservationID
			}
		}
	}
	return ""
}

// mutationCalls counts the stay mutations reservation-service received,
// from its GET /__stats.
func mutationCalls(t *testing.T, base string) int64 {
	t.Helper()
	var st struct {
		Requests map[string]int64 `json:"requests"`
	}
	if err := json.Unmarshal(control(t, base, "GET", "/__stats", ""), &st); err != nil {
		t.Fatal(err)
	}
	var n int64
	for k, v := range st.Requests {
		if strings.HasPrefix(k, "POST ") && strings.Contains(k, "/reservations/") {
			n += v
		}
	}
	return n
}

// control calls one of a fake's control endpoints.
func control(t *testing.T, base, method, path, body string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d %s", method, path, res.StatusCode, b)
	}
	return b
}
