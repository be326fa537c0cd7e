package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// The privilege and BOLA sweep: every HTTP route of the manifest, tried by
// an operator of every role (and one holding two) against their own
// property, another property of their tenant outside their scope, another
// tenant's property, a malformed id and another tenant's resource id. The
// expected answer of each cell comes from one table (sweepRoutes), written
// from the product's role matrix independently of the code that enforces
// it; every 200 body is scanned for what the role must not see. A route
// in the manifest without a row here fails the sweep.

// sweepCase is one column of the sweep.
type sweepCase string

const (
	caseOwn          sweepCase = "own property"
	caseOtherProp    sweepCase = "other property of the tenant"
	caseOtherTenant  sweepCase = "other tenant's property"
	caseMalformed    sweepCase = "malformed id"
	caseOtherTenantR sweepCase = "other tenant's resource"
)

var sweepCases = []sweepCase{caseOwn, caseOtherProp, caseOtherTenant, caseMalformed, caseOtherTenantR}

// Role names, short, as the table uses them.
const (
	fd = "front_desk"
	na = "night_auditor"
	hk = "housekeeping_lead"
	mt = "maintenance_lead"
	mg = "manager"
	ad = "admin"
)

var everyone = []string{fd, na, hk, mt, mg, ad}

// guestRoles see guest data; revenueRoles revenue data (the role matrix).
var (
	guestRoles   = []string{fd, na, mg, ad}
	revenueRoles = []string{na, mg, ad}
)

// Categories each role may see, per the role matrix; manager and admin see
// every category (unlisted ones included).
var (
	suggestionSeen = map[string][]string{
		fd: {"overbooking_warning"},
		na: {"overbooking_warning", "rate_change"},
		hk: {"housekeeping_reorder"},
		mt: {},
	}
	alertSeen = map[string][]string{
		fd: {"oversold", "no_show", "payment_failed", "lock_failed"},
		na: {"oversold", "no_show", "payment_failed", "lock_failed"},
		hk: {},
		mt: {"lock_failed"},
	}
)

// sweepTarget is what a cell's request is about.
type sweepTarget struct {
	prop   string // a property id (own, other, other tenant's or malformed)
	aim    string // an aim id of an open suggestion (own property's, …)
	aimCat string // its category
	ali    string // an ali id of an open alert
	aliCat string // its category
	// chl is an open MFA challenge (lock_revoke) of the sweep operator's
	// own device, when its roles may ask for one; mfaCode verifies it.
	chl, mfaCode string
	rsv          string // an in-house reservation of the property
	// rsvOut is an in-house reservation the sweep operator checks out:
	// its own, so each allowed role's check-out finds a guest in house.
	rsvOut      string
	fol, folCur string // an in-house guest's folio and its currency
}

// sweepRoute is one row of the table.
type sweepRoute struct {
	// request builds the cell's request; ok is false when the case does
	// not apply to the route (no property or resource in it).
	request func(tg sweepTarget, c sweepCase) (method, path, body string, ok bool)
	// allowed are the roles that succeed on their own property; allowedFor,
	// when set, says it per target (an inbox entry's category).
	allowed    []string
	allowedFor func(tg sweepTarget) []string
	// success is the status of an allowed call; once, when set, is a
	// second acceptable answer (a one-shot action already taken by an
	// earlier allowed role).
	success int
	once    string
	// header is sent with every cell's request (name, value, …).
	header []string
	// resourceScoped routes find the property through a resource: an
	// out-of-scope one is 403 PROPERTY_OUT_OF_SCOPE, another tenant's 404.
	resourceScoped bool
	// denied is the code of a role outside allowed on its own property;
	// FORBIDDEN_ROLE when empty.
	denied string
	// successCode is the problem code of an allowed call whose success
	// status is an error (an action that also needs MFA).
	successCode string
}

func query(path, prop string) string { return path + "?propertyId=" + url.QueryEscape(prop) }

func propRoute(path string, allowed []string) sweepRoute {
	return sweepRoute{
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", query(path, tg.prop), "", c != caseOtherTenantR
		},
		allowed: allowed, success: 200,
	}
}

var sweepRoutes = map[string]sweepRoute{
	"GET /v1/session": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", "/v1/session", "", c == caseOwn
		},
		allowed: everyone, success: 200,
	},
	"PATCH /v1/session": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "PATCH", "/v1/session", fmt.Sprintf(`{"primaryPropertyId":%q}`, tg.prop), c != caseOtherTenantR
		},
		allowed: everyone, success: 200,
	},
	// Signs the session out: the sweep sends it last.
	"DELETE /v1/session": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "DELETE", "/v1/session", "", c == caseOwn
		},
		allowed: everyone, success: 204,
	},
	"GET /v1/events": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", "/v1/events", "", c == caseOwn || c == caseMalformed
		},
		allowed: everyone, success: 200,
	},
	"GET /v1/dashboard":          propRoute("/v1/dashboard", everyone),
	"GET /v1/today":              propRoute("/v1/today", everyone),
	"GET /v1/arrivals":           propRoute("/v1/arrivals", guestRoles),
	"GET /v1/departures":         propRoute("/v1/departures", guestRoles),
	"GET /v1/in-house":           propRoute("/v1/in-house", guestRoles),
	"GET /v1/housekeeping/board": propRoute("/v1/housekeeping/board", []string{fd, hk, mt, mg, ad}),
	"GET /v1/maintenance/board":  propRoute("/v1/maintenance/board", []string{hk, mt, mg, ad}),
	"GET /v1/ai/suggestions":     propRoute("/v1/ai/suggestions", everyone),
	"GET /v1/alerts":             propRoute("/v1/alerts", everyone),
	// No operatorId: every operator's rows, which only these roles may read
	// (reading one's own is TestActivityFeed's).
	"GET /v1/activity": propRoute("/v1/activity", []string{na, mg, ad}),
	"GET /v1/devices":  propRoute("/v1/devices", everyone),
	"POST /v1/devices/heartbeat": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/devices/heartbeat", fmt.Sprintf(`{"propertyId":%q,"networkProfile":"good"}`, tg.prop), c != caseOtherTenantR
		},
		allowed: everyone, success: 200,
	},
	// The calling device's cursor: no property or resource to aim at.
	"POST /v1/sync/cursor": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/sync/cursor", `{}`, c == caseOwn
		},
		allowed: everyone, success: 200,
	},
	// Malformed: a negative cursorVersion.
	"POST /v1/sync/handshake": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			if c == caseMalformed {
				return "POST", "/v1/sync/handshake", `{"cursorVersion":-1}`, true
			}
			return "POST", "/v1/sync/handshake", `{"pullCursor":"p","pushAck":"a","cursorVersion":1000000}`, c == caseOwn
		},
		allowed: everyone, success: 200,
	},
	// The caller's own preferences: nothing to aim at. Each sweep operator
	// writes once, at tenant-service's first version.
	"GET /v1/preferences": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", "/v1/preferences", "", c == caseOwn
		},
		allowed: everyone, success: 200,
	},
	"PUT /v1/preferences": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "PUT", "/v1/preferences", `{"layout":{"density":"compact","columnsByPage":{}},"notifications":{"sound":true,"popup":true,"aiBadge":false},"i18n":{"locale":"en-GB","firstDayOfWeek":"mon"},"appearance":{"theme":"dark"}}`, c == caseOwn
		},
		header:  []string{"If-Match", `"1"`},
		allowed: everyone, success: 200,
	},
	// The caller's own shortcuts, of a property (its overrides over the
	// global ones): the property must be in scope. Each sweep operator
	// writes its property's overrides once, at tenant-service's first
	// version.
	"GET /v1/shortcuts": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", query("/v1/shortcuts", tg.prop), "", c != caseOtherTenantR
		},
		allowed: everyone, success: 200,
	},
	"PUT /v1/shortcuts": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "PUT", query("/v1/shortcuts", tg.prop), `{"overrides":{"folio.open":"Alt+B","session.sign_out":""}}`, c != caseOtherTenantR
		},
		header:  []string{"If-Match", `"1"`},
		allowed: everyone, success: 200,
	},
	// The caller's own devices only: no property or resource to aim at.
	"GET /v1/devices/hints": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			return "GET", "/v1/devices/hints", "", c == caseOwn
		},
		allowed: everyone, success: 200,
	},
	"POST /v1/ai/suggestions/{aimId}/decision": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/ai/suggestions/" + tg.aim + "/decision", `{"outcome":"rejected","notes":"sweep"}`, c != caseOtherTenant
		},
		allowedFor: func(tg sweepTarget) []string { return seenBy(suggestionSeen, tg.aimCat) }, success: 201, once: "MELMASTOON.BFF.BACKOFFICE.DECISION_ALREADY_RECORDED", resourceScoped: true,
	},
	"POST /v1/alerts/{aliId}/ack": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/alerts/" + tg.ali + "/ack", `{}`, c != caseOtherTenant
		},
		allowedFor: func(tg sweepTarget) []string { return seenBy(alertSeen, tg.aliCat) }, success: 201, once: "MELMASTOON.BFF.BACKOFFICE.ALERT_ALREADY_ACKED", resourceScoped: true,
	},
	// Issues a key (the room is the reservation's): the desk-actions row.
	"POST /v1/reservations/{rsvId}/keys/{action}": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			until := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
			return "POST", "/v1/reservations/" + tg.rsv + "/keys/issue", fmt.Sprintf(`{"validUntil":%q}`, until), c != caseOtherTenant
		},
		allowed: []string{fd, na, mg, ad}, success: 201, resourceScoped: true,
	},
	// Checks in a guest already in house: the desk-actions row; the roles
	// that may check in reach reservation-service, which refuses (mapped
	// to 400), so the cell holds whatever ran before.
	"POST /v1/reservations/{rsvId}/check-in": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/reservations/" + tg.rsv + "/check-in", `{}`, c != caseOtherTenant
		},
		allowed: []string{fd, na, mg, ad}, success: 400, successCode: "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED", resourceScoped: true,
	},
	// Checks the operator's own in-house guest out: the desk-actions row.
	"POST /v1/reservations/{rsvId}/check-out": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/reservations/" + tg.rsvOut + "/check-out", `{}`, c != caseOtherTenant
		},
		allowed: []string{fd, na, mg, ad}, success: 200, resourceScoped: true,
	},
	// A force-checkout: the override row; the roles that may force one
	// are then asked for their step-up (none presented).
	"POST /v1/reservations/{rsvId}/force-checkout": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/reservations/" + tg.rsv + "/force-checkout", `{"reason":"sweep"}`, c != caseOtherTenant
		},
		allowed: []string{na, mg, ad}, success: 403, successCode: "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED", resourceScoped: true,
	},
	// A small adjustment (under every threshold): the desk-actions row.
	"POST /v1/folios/{folId}/adjustments": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/folios/" + tg.fol + "/adjustments", fmt.Sprintf(`{"amountMinor":-100,"currency":%q,"reason":"sweep"}`, cur(tg.folCur)), c != caseOtherTenant
		},
		allowed: []string{fd, na, mg, ad}, success: 201, resourceScoped: true,
	},
	// A refund: the override row; the roles that may refund are then asked
	// for their step-up (none presented).
	"POST /v1/folios/{folId}/refunds": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			return "POST", "/v1/folios/" + tg.fol + "/refunds", fmt.Sprintf(`{"amountMinor":100,"currency":%q,"reason":"sweep","paymentId":"pay-1"}`, cur(tg.folCur)), c != caseOtherTenant
		},
		allowed: []string{na, mg, ad}, success: 403, successCode: "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED", resourceScoped: true,
	},
	// A refund's step-up: the override row of the role matrix. Malformed:
	// an unknown scope.
	"POST /v1/mfa/challenges": {
		request: func(_ sweepTarget, c sweepCase) (string, string, string, bool) {
			scope := "refund"
			if c == caseMalformed {
				scope = "open_every_door"
			}
			return "POST", "/v1/mfa/challenges", fmt.Sprintf(`{"scope":%q,"factor":"totp"}`, scope), c == caseOwn || c == caseMalformed
		},
		allowed: []string{na, mg, ad}, success: 201,
	},
	// Verifies the operator's own challenge; roles that may ask for none
	// (no desk or override rights) hold none, so theirs is unknown.
	"POST /v1/mfa/challenges/{challengeId}/verify": {
		request: func(tg sweepTarget, c sweepCase) (string, string, string, bool) {
			id := tg.chl
			switch {
			case c == caseMalformed:
				id = "not.a.challenge"
			case id == "":
				id = "chl_none"
			}
			return "POST", "/v1/mfa/challenges/" + id + "/verify", fmt.Sprintf(`{"code":%q}`, tg.mfaCode), c == caseOwn || c == caseMalformed
		},
		allowed: []string{fd, na, mg, ad}, success: 201, denied: "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID",
	},
}

// seenBy lists the roles that may see (and act on) an entry of category.
func seenBy(seen map[string][]string, category string) []string {
	out := []string{mg, ad}
	for r, cats := range seen {
		if slices.Contains(cats, category) {
			out = append(out, r)
		}
	}
	return out
}

// sweepOperator is one row group: a demo operator and the targets of each
// case for it.
type sweepOperator struct {
	tn      demo.Tenant
	op      demo.Operator
	targets map[sweepCase]sweepTarget
}

func TestPrivilegeSweep(t *testing.T) {
	e := newEnv(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range m.Functions {
		if f.Kind != manifest.KindHTTP {
			continue
		}
		for _, r := range f.ParsedRoutes() {
			routes = append(routes, r.String())
		}
	}
	for _, r := range routes {
		if _, ok := sweepRoutes[r]; !ok {
			t.Errorf("route %s has no row in the privilege sweep (sweepRoutes): add its expected answers per role", r)
		}
	}
	for r := range sweepRoutes {
		if !slices.Contains(routes, r) {
			t.Errorf("the sweep has a row for %s, which the manifest does not list", r)
		}
	}
	// Sign-out last: it ends the session the other cells use.
	slices.SortStableFunc(routes, func(a, b string) int {
		return boolInt(a == "DELETE /v1/session") - boolInt(b == "DELETE /v1/session")
	})

	ops := e.sweepOperators()
	cells := 0
	for _, so := range ops {
		token := e.mint(so.tn, so.op, 0, nil)
		for _, r := range routes {
			row, ok := sweepRoutes[r]
			if !ok {
				continue
			}
			for _, c := range sweepCases {
				tg, ok := so.targets[c]
				if !ok {
					continue
				}
				method, path, body, ok := row.request(tg, c)
				if !ok {
					continue
				}
				cells++
				name := fmt.Sprintf("%s %v / %s / %s", so.op.Name, so.op.Roles, r, c)
				if r == "GET /v1/events" {
					e.sweepStream(name, token, c)
					continue
				}
				hdr := row.header
				if method == "POST" {
					hdr = append(slices.Clone(hdr), "Idempotency-Key", ids.New("sweep"))
				}
				res := e.do(method, path, token, body, hdr...)
				allowed := row.allowed
				if row.allowedFor != nil {
					allowed = row.allowedFor(tg)
				}
				e.checkCell(name, row, allowed, so.op.Roles, c, res)
				if res.StatusCode == 200 {
					scanBody(t, name, so.op.Roles, res.body)
				}
			}
		}
	}
	t.Logf("privilege sweep: %d routes × %d operators (%d roles and one holding two) × up to %d cases = %d cells",
		len(routes), len(ops), len(everyone), len(sweepCases), cells)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkCell compares one answer with the table.
func (e *env) checkCell(name string, row sweepRoute, allowedRoles, roles []string, c sweepCase, res resp) {
	t := e.t
	t.Helper()
	allowed := slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(allowedRoles, r) })
	var wantStatus int
	var wantCode string
	switch c {
	case caseOwn:
		switch {
		case allowed:
			wantStatus, wantCode = row.success, row.successCode
		case row.denied != "":
			wantStatus, wantCode = 403, row.denied
		default:
			wantStatus, wantCode = 403, "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE"
		}
	case caseOtherProp, caseOtherTenant:
		wantStatus, wantCode = 403, "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE"
	case caseMalformed:
		wantStatus, wantCode = 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"
	case caseOtherTenantR:
		wantStatus, wantCode = 404, "MELMASTOON.BFF.BACKOFFICE.NOT_FOUND"
	}
	if res.StatusCode == 409 && row.once != "" && c == caseOwn && allowed {
		if code := res.problem(t); code != row.once {
			t.Errorf("%s: 409 %s, want %d or 409 %s", name, code, wantStatus, row.once)
		}
		return
	}
	if res.StatusCode != wantStatus {
		t.Errorf("%s: HTTP %d %s, want %d %s", name, res.StatusCode, truncate(res.body), wantStatus, wantCode)
		return
	}
	if wantCode != "" {
		if code := res.problem(t); code != wantCode {
			t.Errorf("%s: code %s, want %s", name, code, wantCode)
		}
	}
}

// sweepStream opens GET /v1/events (own: a stream; malformed: a bad
// Last-Event-ID) and closes it once the answer's head is in.
func (e *env) sweepStream(name, token string, c sweepCase) {
	t := e.t
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.BaseURL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if c == caseMalformed {
		req.Header.Set("Last-Event-ID", "not-an-id")
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer res.Body.Close()
	switch {
	case c == caseOwn && (res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream"):
		t.Errorf("%s: HTTP %d %s, want a stream", name, res.StatusCode, res.Header.Get("Content-Type"))
	case c == caseMalformed && res.StatusCode != 400:
		t.Errorf("%s: HTTP %d, want 400", name, res.StatusCode)
	}
}

// sweepOperators picks an operator of each role in the first tenant —
// one with a property of the tenant outside its scope where the demo has
// one — plus an operator holding two roles, and finds each case's target.
func (e *env) sweepOperators() []sweepOperator {
	t := e.t
	tn, other := e.srv.Demo.Tenants[0], e.srv.Demo.Tenants[1]
	pick := func(roles ...string) demo.Operator {
		var best demo.Operator
		for _, o := range tn.Operators {
			if len(o.PropertyScope) == 0 || !slices.Equal(slices.Sorted(slices.Values(o.Roles)), slices.Sorted(slices.Values(roles))) {
				continue
			}
			if best.ID == "" || len(o.PropertyScope) < len(tn.Properties) {
				best = o
			}
		}
		if best.ID == "" {
			t.Fatalf("the demo has no operator with roles %v", roles)
		}
		return best
	}
	// Resource ids, found as the tenants' managers see them.
	_, tnMgr := e.operator(0, hasRole(mg))
	_, otherMgr := e.operator(1, hasRole(mg))
	mgrToken := e.mint(tn, tnMgr, 0, nil)
	otherToken := e.mint(other, otherMgr, 0, nil)
	// find returns an open entry of the first category of prefer the list
	// has (any entry when prefer is empty).
	find := func(token, kind, prop string, prefer ...string) (string, string) {
		path := "/v1/ai/suggestions"
		if kind == "alert" {
			path = "/v1/alerts"
		}
		res := e.do("GET", query(path, prop)+"&status=open", token, "")
		var l struct {
			Items []struct {
				ID, Category string
			} `json:"items"`
		}
		res.json(t, &l)
		if len(prefer) == 0 && len(l.Items) > 0 {
			return l.Items[0].ID, l.Items[0].Category
		}
		for _, c := range prefer {
			for _, it := range l.Items {
				if it.Category == c {
					return it.ID, it.Category
				}
			}
		}
		t.Fatalf("no open %s of %v in %s: %s", kind, prefer, prop, truncate(res.body))
		return "", ""
	}
	// Guests to check out: the first for the shared targets (refused
	// before anything is sent), one more per sweep operator.
	checkOuts := map[string][]string{}
	for _, p := range tn.Properties {
		checkOuts[p.ID] = e.inHouseStays(tn.ID, p.ID, 8)
	}
	used := map[string]int{}
	// Entries guarded by a right some roles lack, so the role column means
	// something.
	target := func(prop string) sweepTarget {
		tg := sweepTarget{prop: prop}
		tg.aim, tg.aimCat = find(mgrToken, "suggestion", prop, "rate_change", "overbooking_warning", "housekeeping_reorder")
		tg.ali, tg.aliCat = find(mgrToken, "alert", prop, "lock_failed", "no_show", "payment_failed", "oversold")
		tg.rsv = e.inHouse(tn.ID, prop)
		tg.fol, tg.folCur = e.inHouseFolio(tn.ID, prop)
		tg.rsvOut = checkOuts[prop][0]
		return tg
	}
	otherProp := other.Properties[0].ID
	// Any of the other tenant's entries: it must be unknown here.
	otherRate, _ := find(otherToken, "suggestion", otherProp)
	otherLock, _ := find(otherToken, "alert", otherProp)
	otherFol, otherCur := e.inHouseFolio(other.ID, otherProp)
	targets := map[string]sweepTarget{}
	for _, p := range tn.Properties {
		targets[p.ID] = target(p.ID)
	}

	var out []sweepOperator
	for _, roles := range [][]string{{fd}, {na}, {hk}, {mt}, {mg}, {ad}, {fd, na}} {
		o := pick(roles...)
		own := o.PropertyScope[0]
		so := sweepOperator{tn: tn, op: o, targets: map[sweepCase]sweepTarget{
			caseOwn:          targets[own],
			caseOtherTenant:  {prop: otherProp},
			caseMalformed:    {prop: "prp_not-a-ulid", aim: "aim_not-a-ulid", ali: "ali_not-a-ulid", rsv: "rsv_not-a-ulid", rsvOut: "rsv_not-a-ulid", fol: "fol_not-a-ulid"},
			caseOtherTenantR: {aim: otherRate, ali: otherLock, rsv: e.inHouse(other.ID, otherProp), rsvOut: e.inHouse(other.ID, otherProp), fol: otherFol, folCur: otherCur},
		}}
		for _, p := range tn.Properties {
			if !slices.Contains(o.PropertyScope, p.ID) {
				so.targets[caseOtherProp] = targets[p.ID]
				break
			}
		}
		// The operator's own open challenge, asked for with the token the
		// sweep will use (same device), where its roles allow one.
		ownT := so.targets[caseOwn]
		used[own]++
		ownT.rsvOut = checkOuts[own][used[own]]
		ownT.mfaCode = e.srv.IAM.MFADevCode()
		if slices.ContainsFunc(o.Roles, func(r string) bool { return slices.Contains([]string{fd, na, mg, ad}, r) }) {
			res := e.do("POST", "/v1/mfa/challenges", e.mint(tn, o, 0, nil), `{"scope":"lock_revoke","factor":"totp"}`, "Idempotency-Key", ids.New("sweep"))
			var ch struct {
				ChallengeID string `json:"challengeId"`
			}
			res.json(t, &ch)
			ownT.chl = ch.ChallengeID
		}
		so.targets[caseOwn] = ownT
		out = append(out, so)
	}
	return out
}

// scanBody fails when a 200 body carries what roles may not see: guest
// data fields, revenue fields, or inbox entries of a category the role
// matrix withholds.
func scanBody(t *testing.T, name string, roles []string, body []byte) {
	t.Helper()
	has := func(set []string) bool {
		return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(set, r) })
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Errorf("%s: body is not JSON: %v", name, err)
		return
	}
	forbidden := map[string]string{}
	if !has(guestRoles) {
		for _, k := range []string{"guestName", "balanceDue", "folioId", "notes"} {
			forbidden[k] = "guest data"
		}
	}
	if !has(revenueRoles) {
		for _, k := range []string{"adr", "revpar", "occupancyPct", "roomRevenue", "otherRevenue", "monthToDate", "occupancy", "revenue"} {
			forbidden[k] = "revenue data"
		}
	}
	full := has([]string{mg, ad})
	reported := map[string]bool{}
	walkJSON(doc, func(key string, v any, parent map[string]any) {
		if why, ok := forbidden[key]; ok && !reported[key] {
			reported[key] = true
			t.Errorf("%s: the body carries %q (%s)", name, key, why)
		}
		if key != "category" || full {
			return
		}
		cat, _ := v.(string)
		var seen map[string][]string
		switch {
		case parent["suggestionId"] != nil:
			seen = suggestionSeen
		case parent["raisedAt"] != nil:
			seen = alertSeen
		default:
			return
		}
		ok := false
		for _, r := range roles {
			ok = ok || slices.Contains(seen[r], cat)
		}
		if !ok && !reported[cat] {
			reported[cat] = true
			t.Errorf("%s: the body lists a %q entry, which roles %v may not see", name, cat, roles)
		}
	})
}

func walkJSON(v any, visit func(key string, v any, parent map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			visit(k, c, x)
			walkJSON(c, visit)
		}
	case []any:
		for _, c := range x {
			walkJSON(c, visit)
		}
	}
}

// The sweep's own checks must be able to fail: a housekeeping lead's body
// with a guest name, a rate or a rate_change entry is caught.
func TestScanBodyCatchesLeaks(t *testing.T) {
	leaks := map[string]string{
		"guest name":  `{"items":[{"movement":"arrival","guestName":"Ada"}]}`,
		"balance":     `{"items":[{"balanceDue":{"amount":"1.00","currency":"EUR"}}]}`,
		"rate":        `{"widgets":{"occupancy":{"adr":{"amount":"1.00","currency":"EUR"}}}}`,
		"rate_change": `{"items":[{"suggestionId":"s1","category":"rate_change"}]}`,
		"oversold":    `{"items":[{"raisedAt":"2026-12-03T10:00:00.000Z","category":"oversold"}]}`,
	}
	for what, body := range leaks {
		ft := &testing.T{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			scanBody(ft, what, []string{hk}, []byte(body))
		}()
		<-done
		if !ft.Failed() {
			t.Errorf("scanBody let a housekeeping lead's %s through: %s", what, body)
		}
	}
	ok := &testing.T{}
	scanBody(ok, "clean", []string{hk}, []byte(`{"items":[{"suggestionId":"s1","category":"housekeeping_reorder","roomNumber":"512"}]}`))
	if ok.Failed() {
		t.Error("scanBody refused a housekeeping lead's own entry")
	}
}

// inHouse is a reservation in house at the property now, with its room.
func (e *env) inHouse(tenantID, propertyID string) string {
	e.t.Helper()
	sn, err := e.srv.Fleet.Reservation.Ops().Snapshot(tenantID, propertyID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, st := range sn.InHouse().Items {
		if st.RoomNumber != "" {
			return st.ReservationID
		}
	}
	e.t.Fatalf("nobody in house at %s", propertyID)
	return ""
}

// inHouseFolio is the folio of a guest in house at the property now, and
// its currency.
func (e *env) inHouseFolio(tenantID, propertyID string) (string, string) {
	e.t.Helper()
	sn, err := e.srv.Fleet.Reservation.Ops().Snapshot(tenantID, propertyID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, st := range sn.InHouse().Items {
		if st.FolioID != "" {
			return st.FolioID, st.BalanceDue.Currency
		}
	}
	e.t.Fatalf("no folio in house at %s", propertyID)
	return "", ""
}

// cur is a currency for a body: the target's, or any valid one where the
// case has none.
func cur(c string) string {
	if c == "" {
		return "EUR"
	}
	return c
}
