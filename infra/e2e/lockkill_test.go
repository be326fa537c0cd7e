package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/fakes/lock"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/lockaction"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	lockc "github.com/melmastoon/bff-backoffice/shared/upstream/lock"
)

// TestLockActionKilledAfterUpstreamSuccess: the lock-action function, a
// real dev-server process started as deployed, is SIGKILLed after
// lock-service performed an issue and then a revoke (its fake holds the
// answers), before the function could settle its audit rows. After the
// reconciliation every key lock-service touched has exactly one row with
// its true outcome, and retries (through another process) perform nothing
// twice.
func TestLockActionKilledAfterUpstreamSuccess(t *testing.T) {
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	_, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ds, err := demo.Load(root + "/testdata/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	fk, err := devserver.StartFakes(root, ds, [2]time.Duration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	if err := pubsubevents.EnsureTopics(ctx, project, events.Emitted()...); err != nil {
		t.Fatal(err)
	}
	bin, err := devserver.BuildCommand(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	start := func() *devserver.Process {
		t.Helper()
		p, err := devserver.StartProcess(ctx, devserver.ProcessOptions{
			Binary: bin, RepoRoot: root, DatabaseURL: info.AppURL, RedisAddr: rdb.Options().Addr,
			RedisPrefix: rdb.Prefix, ProjectID: project, Upstreams: fk.Upstreams, Stderr: &logs, LogLevel: "error",
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, logs.String())
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	tn, fd := demoOperator(t, ds, hasRole(fd))
	dev := fd.Devices[0].ID
	tok, err := fk.IAM.Mint(iam.Claims{TenantID: tn.ID, OperatorID: fd.ID, DeviceID: dev}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prop := fd.PropertyScope[0]
	sn, err := fk.Fleet.Reservation.Ops().Snapshot(tn.ID, prop)
	if err != nil {
		t.Fatal(err)
	}
	var rsv string
	for _, st := range sn.InHouse().Items {
		if st.RoomNumber != "" {
			rsv = st.ReservationID
			break
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(base, path, body string, hdr ...string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		return res.StatusCode, string(b)
	}
	// killAfterUpstream sends one action to a fresh process, waits until
	// lock-service has performed it (its answer held), and kills the process.
	killAfterUpstream := func(path, body string, hdr ...string) {
		t.Helper()
		p := start()
		fk.Lock.SetFaults(lock.Faults{HoldAnswers: true})
		var key string
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Idempotency-Key" {
				key = hdr[i+1]
			}
		}
		up := lockaction.UpstreamRequestID(tn.ID, dev, key)
		go post(p.BaseURL, path, body, hdr...)
		eventually(t, 20*time.Second, "lock-service performs "+path, func() bool { return fk.Lock.Answered(tn.ID, up) })
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		fk.Lock.SetFaults(lock.Faults{})
	}

	until := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	issueKey := []string{"Idempotency-Key", ids.New("kill")}
	issueBody := fmt.Sprintf(`{"validUntil":%q}`, until)
	killAfterUpstream("/v1/reservations/"+rsv+"/keys/issue", issueBody, issueKey...)

	// A revoke, its attestation obtained through another process.
	p := start()
	st, body := post(p.BaseURL, "/v1/mfa/challenges", `{"scope":"lock_revoke","factor":"totp"}`, "Idempotency-Key", ids.New("kill"))
	chl := between(body, `"challengeId":"`, `"`)
	st2, body2 := post(p.BaseURL, "/v1/mfa/challenges/"+chl+"/verify", fmt.Sprintf(`{"code":%q}`, fk.IAM.MFADevCode()), "Idempotency-Key", ids.New("kill"))
	if st != 201 || st2 != 201 {
		t.Fatalf("attestation: %d %s / %d %s", st, body, st2, body2)
	}
	att := between(body2, `"id":"`, `"`)
	revokeKey := []string{"Idempotency-Key", ids.New("kill"), "X-MFA-Attestation", att}
	killAfterUpstream("/v1/reservations/"+rsv+"/keys/revoke", `{}`, revokeKey...)

	cl, err := lockc.NewClient(lockc.Config{URL: fk.Upstreams["lock"], Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := lockaction.Reconcile(ctx, testenv.JobsDB(t, info), cl, lockaction.ReconcileOptions{Grace: time.Nanosecond})
	if err != nil || sum.Success != 2 || sum.Pending != 0 {
		t.Fatalf("reconcile = %+v, %v\n%s", sum, err, logs.String())
	}
	e := &env{t: t, pg: info}
	rows := e.audits(tn.ID, rsv)
	if len(rows) != 2 || rows[0].Action != "issue" || rows[1].Action != "revoke" || rows[0].Outcome != "success" || rows[1].Outcome != "success" {
		t.Fatalf("audit rows after the kills: %+v", rows)
	}
	// Retries through a live process: the settled answers, nothing twice.
	// The killed requests' idempotency records are in flight until their
	// lease lapses (409 until then), as after any lost instance.
	q := start()
	for _, r := range []struct {
		path, body, audit string
		hdr               []string
	}{
		{"/v1/reservations/" + rsv + "/keys/issue", issueBody, rows[0].ID, issueKey},
		{"/v1/reservations/" + rsv + "/keys/revoke", `{}`, rows[1].ID, revokeKey},
	} {
		var st int
		var body string
		eventually(t, 60*time.Second, "retry of "+r.path, func() bool {
			st, body = post(q.BaseURL, r.path, r.body, r.hdr...)
			if st == http.StatusConflict {
				time.Sleep(time.Second)
				return false
			}
			return true
		})
		if st != 201 || !strings.Contains(body, r.audit) {
			t.Fatalf("retry of %s: %d %s", r.path, st, body)
		}
	}
	if fk.Lock.Performed("issue") != 1 || fk.Lock.Performed("revoke") != 1 {
		t.Fatalf("lock-service performed %d issues and %d revokes, want 1 each", fk.Lock.Performed("issue"), fk.Lock.Performed("revoke"))
	}
	if len(e.audits(tn.ID, rsv)) != 2 {
		t.Fatal("a retry wrote another audit row")
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}
