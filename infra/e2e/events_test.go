package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
)

func init() {
	// The stream's body is a string to the contract; the test reads the
	// blocks itself.
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
}

// sseBlock is one parsed SSE block.
type sseBlock struct {
	ID, Event, Data, Retry string
	Comment                bool
	at                     time.Time
}

type sseStream struct {
	t      *testing.T
	req    *http.Request
	res    *http.Response
	raw    bytes.Buffer // the whole body, for the contract once it ends
	blocks chan sseBlock
	cancel context.CancelFunc
}

// openEvents connects to GET /v1/events; a non-200 answer is returned as a
// resp (checked against openapi.yaml) and a nil stream.
func (e *env) openEvents(token string, hdr ...string) (*sseStream, resp) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.BaseURL+"/v1/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// No client timeout: the stream is meant to stay open.
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		checkContract(e.t, e.spec, req, res, b)
		return nil, resp{res, b}
	}
	s := &sseStream{t: e.t, req: req, res: res, blocks: make(chan sseBlock, 256), cancel: cancel}
	e.t.Cleanup(cancel)
	go func() {
		defer close(s.blocks)
		defer res.Body.Close()
		sc := bufio.NewScanner(io.TeeReader(res.Body, &s.raw))
		var b sseBlock
		empty := true
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if !empty {
					b.at = time.Now()
					s.blocks <- b
				}
				b, empty = sseBlock{}, true
				continue
			}
			empty = false
			if strings.HasPrefix(line, ":") {
				b.Comment = true
				continue
			}
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				b.ID = v
			case "event":
				b.Event = v
			case "data":
				b.Data += v
			case "retry":
				b.Retry = v
			}
		}
	}()
	return s, resp{Response: res}
}

// next returns the next block that is not only a comment, waiting up to
// within; ok is false when the stream ended first.
func (s *sseStream) next(within time.Duration) (sseBlock, bool) {
	s.t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case b, ok := <-s.blocks:
			if !ok {
				return sseBlock{}, false
			}
			if b.Comment && b.Event == "" && b.ID == "" && b.Retry == "" {
				continue
			}
			return b, true
		case <-timer.C:
			s.t.Fatalf("no SSE block within %s", within)
		}
	}
}

func (s *sseStream) must(within time.Duration) sseBlock {
	s.t.Helper()
	b, ok := s.next(within)
	if !ok {
		s.t.Fatal("event stream ended")
	}
	return b
}

func publish(t *testing.T, project string, evs ...events.Envelope) {
	t.Helper()
	pub, err := pubsubevents.NewPublisher(context.Background(), project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, ev := range evs {
		if err := pub.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// A desktop connected to /v1/events gets viewInvalidated for its property,
// resumes with Last-Event-ID what was published while it was away, and
// receives forceLogout after iam-service's revocation reaches the emulator;
// the stream then ends and the token is refused.
func TestEventsEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, func(o demo.Operator) bool { return len(o.Devices) == 2 && len(o.PropertyScope) > 0 })
	tokA, tokB := e.mint(tn, op, 0, nil), e.mint(tn, op, 1, nil)
	prop := op.PrimaryPropertyID
	if prop == "" {
		prop = op.PropertyScope[0]
	}
	changed := func() events.Envelope {
		ev, err := events.New(events.ReservationChanged, tn.ID, prop, map[string]any{"propertyId": prop})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}

	// Malformed resume points are refused before anything streams.
	if _, r := e.openEvents(tokA, "Last-Event-ID", "yesterday"); r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("malformed Last-Event-ID = %d %s", r.StatusCode, r.body)
	}

	a, r := e.openEvents(tokA)
	if a == nil {
		t.Fatalf("GET /v1/events = %d %s", r.StatusCode, r.body)
	}
	if ct := a.res.Header.Get("Content-Type"); ct != "text/event-stream" || a.res.Header.Get("X-Session-Id") == "" {
		t.Fatalf("Content-Type %q, X-Session-Id %q", ct, a.res.Header.Get("X-Session-Id"))
	}
	if first := a.must(10 * time.Second); first.ID == "" || first.Retry == "" {
		t.Fatalf("first block = %+v, want the stream position and a retry hint", first)
	}
	// The activity row is committed before the stream starts.
	rows := e.activity(tn.ID)
	if n := len(rows); n == 0 || rows[n-1].Category != "view" || rows[n-1].Action != "events.connected" || rows[n-1].Outcome != "success" {
		t.Fatalf("activity = %+v, want view events.connected last", rows)
	}
	b, _ := e.openEvents(tokB)
	if b == nil {
		t.Fatal("device B refused")
	}
	b.must(10 * time.Second)

	publish(t, e.project, changed())
	got := a.must(30 * time.Second)
	if got.Event != devicestream.TypeViewInvalidated || got.Data != `{"propertyId":"`+prop+`"}` {
		t.Fatalf("after reservation.changed: %+v", got)
	}
	lastSeen := got.ID
	a.cancel()

	// Away: two changes land in the stream meanwhile.
	publish(t, e.project, changed(), changed())
	key := devicestream.Key(e.rdb, tn.ID, op.Devices[0].ID)
	eventually(t, 30*time.Second, "two viewInvalidated appended while away", func() bool {
		n, _ := e.rdb.XLen(context.Background(), key).Result()
		return n >= 3
	})
	a, r = e.openEvents(tokA, "Last-Event-ID", lastSeen)
	if a == nil {
		t.Fatalf("resume = %d %s", r.StatusCode, r.body)
	}
	a.must(10 * time.Second) // retry hint
	seen := map[string]bool{lastSeen: true}
	for i := range 2 {
		got := a.must(10 * time.Second)
		if got.Event != devicestream.TypeViewInvalidated || seen[got.ID] {
			t.Fatalf("resumed event %d = %+v; already seen %v", i, got, seen)
		}
		seen[got.ID] = true
	}

	// iam-service revokes device A.
	rev, err := events.New(events.IAMSessionRevoked, tn.ID, "", map[string]string{
		"operatorId": op.ID, "deviceId": op.Devices[0].ID, "reason": "device_lost",
	})
	if err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	publish(t, e.project, rev)
	var logout sseBlock
	for {
		// Generous: the measured delay is logged, never asserted tightly.
		got := a.must(10 * time.Second)
		if got.Event == devicestream.TypeForceLogout {
			logout = got
			break
		}
	}
	t.Logf("revocation published → forceLogout received: %s", logout.at.Sub(published))
	if !strings.Contains(logout.Data, `"reason":"device_lost"`) {
		t.Errorf("forceLogout data = %s", logout.Data)
	}
	if _, ok := a.next(10 * time.Second); ok {
		t.Fatal("the stream went on after forceLogout")
	}
	checkContract(t, e.spec, a.req, a.res, a.raw.Bytes())
	if _, r := e.openEvents(tokA, "Last-Event-ID", logout.ID); r.StatusCode != 401 || r.problem(t) != "MELMASTOON.IAM.SESSION_REVOKED" {
		t.Fatalf("reconnect after revocation = %d %s", r.StatusCode, r.body)
	}

	// Device B saw the property's changes but no forceLogout.
	var bEvents []string
	for len(bEvents) < 3 {
		bEvents = append(bEvents, b.must(10*time.Second).Event)
	}
	for _, ev := range bEvents {
		if ev != devicestream.TypeViewInvalidated {
			t.Fatalf("device B got %v", bEvents)
		}
	}
}
