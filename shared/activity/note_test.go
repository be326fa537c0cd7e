package activity_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

func TestEntryOfOutcomes(t *testing.T) {
	t.Parallel()
	a := actor.Actor{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		SessionID: ids.New(ids.Session), PropertyScope: []string{ids.New(ids.Property)}, RequestID: "r", Start: time.Now()}
	n := activity.Note{Category: activity.CategoryView, Action: activity.ActionDashboardViewed, ContextHash: "ab"}
	if e := activity.EntryOf(a, n, nil); e.Outcome != activity.OutcomeSuccess || e.Error != nil || e.ContextHash != "ab" || e.PropertyID != a.PropertyScope[0] || e.SessionID != a.SessionID {
		t.Errorf("success: %+v", e)
	}
	n.Partial = []string{"occupancy=unavailable", "revenue=stale"}
	e := activity.EntryOf(a, n, nil)
	if e.Outcome != activity.OutcomePartial || e.Error == nil || e.Error.Code != string(apperr.UpstreamUnavailable) || e.Error.Message != "occupancy=unavailable, revenue=stale" {
		t.Errorf("partial: %+v %+v", e, e.Error)
	}
	// A failure is a failure, whatever was partial before it.
	if e := activity.EntryOf(a, n, apperr.New(apperr.ForbiddenRole, "no")); e.Outcome != activity.OutcomeFailure || e.Error.Code != string(apperr.ForbiddenRole) {
		t.Errorf("failure: %+v", e)
	}
	if e := activity.EntryOf(a, n, errors.New("boom")); e.Outcome != activity.OutcomeFailure || e.Error.Code != string(apperr.Internal) {
		t.Errorf("internal failure: %+v", e)
	}
}

func TestContextHash(t *testing.T) {
	t.Parallel()
	q := url.Values{"b": {"2", "1"}, "a": {"x"}}
	h := activity.ContextHash("GET", "/v1/activity", q, "bos_1", nil)
	if len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	same := activity.ContextHash("GET", "/v1/activity", url.Values{"a": {"x"}, "b": {"2", "1"}}, "bos_1", nil)
	if same != h {
		t.Error("the query's key order changed the hash")
	}
	for name, other := range map[string]string{
		"method":      activity.ContextHash("POST", "/v1/activity", q, "bos_1", nil),
		"path":        activity.ContextHash("GET", "/v1/activit", q, "bos_1", nil),
		"value order": activity.ContextHash("GET", "/v1/activity", url.Values{"b": {"1", "2"}, "a": {"x"}}, "bos_1", nil),
		"split":       activity.ContextHash("GET", "/v1/activity", url.Values{"b": {"21"}, "a": {"x"}}, "bos_1", nil),
		"session":     activity.ContextHash("GET", "/v1/activity", q, "bos_2", nil),
		"body":        activity.ContextHash("GET", "/v1/activity", q, "bos_1", []byte{1}),
	} {
		if other == h {
			t.Errorf("another %s, same hash", name)
		}
	}
}
