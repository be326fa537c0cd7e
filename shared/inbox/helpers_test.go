package inbox_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
)

// cursors is a codec under a fixed test secret.
func cursors(t testing.TB) *listcursor.Codec {
	t.Helper()
	c, err := listcursor.New([]byte("inbox-tests-cursor-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// manager is a manager of tenant over props: the role that sees every
// category.
func manager(tenant string, props ...string) actor.Actor {
	return actor.Actor{
		TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
		Roles: []string{"manager"}, PropertyScope: props, RequestID: "req-test", Start: time.Now(),
	}
}

// everything pages through a list as a with q (its cursor ignored) to the
// end and returns every entry in order, failing on a page over the limit
// or after maxPages pages.
func everything[E any](t testing.TB, list func(context.Context, actor.Actor, inbox.Query) (inbox.List[E], activity.Note, error),
	a actor.Actor, q inbox.Query, maxPages int) ([]E, int) {
	t.Helper()
	limit := listcursor.DefaultLimit
	if q.Limit != "" {
		var err error
		if limit, err = listcursor.Limit(q.Limit); err != nil {
			t.Fatal(err)
		}
	}
	var out []E
	q.Cursor = ""
	for pages := 1; ; pages++ {
		l, _, err := list(context.Background(), a, q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(l.Items) > limit {
			t.Fatalf("page %d holds %d entries, over the limit %d", pages, len(l.Items), limit)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out, pages
		}
		if pages >= maxPages {
			t.Fatalf("still a next cursor after %d pages", pages)
		}
		q.Cursor = l.NextCursor
	}
}

// wantCategories fails unless entries, what a list read, are one of each
// category of want, in any order; category reads an entry's.
func wantCategories[E any](t *testing.T, what string, entries []E, category func(E) string, want []string) {
	t.Helper()
	var got []string
	for _, e := range entries {
		got = append(got, category(e))
	}
	slices.Sort(got)
	if w := slices.Sorted(slices.Values(want)); fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("%s listed %v, want %v", what, got, w)
	}
}
