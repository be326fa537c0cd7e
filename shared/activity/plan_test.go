package activity_test

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, c := range n.Plans {
		c.walk(f)
	}
}

// The common feed queries, on a table of a busy hotel group's 90 days
// (scaled: 20 properties, 400 operators, mostly views), are index range
// reads in the feed's order: no sort, no sequential or bitmap scan, the
// index whose prefix is the request's filter. ACTIVITY_PLANS=path writes
// the plans (docs/ACTIVITY.md shows them).
func TestFeedQueryPlans(t *testing.T) {
	t.Parallel()
	db, info := testenv.Postgres(t)
	ctx := context.Background()
	admin := adminConn(t, info)
	tenant, other := ids.New(ids.Tenant), ids.New(ids.Tenant)
	props := make([]string, 20)
	for i := range props {
		props[i] = ids.New(ids.Property)
	}
	// 120,000 rows over 90 days, a second tenant as large; categories
	// skewed as real traffic is (views dominate, lock actions are rare).
	// Written by the superuser: this is a fixture, not the app's path.
	_, err := admin.Exec(ctx, `
INSERT INTO bff.operator_activity (id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at,
       category, action, outcome, latency_ms, request_id)
SELECT 'act_0' || upper(substr(md5(t || i::text), 1, 25)), t,
       CASE WHEN i % 25 = 0 THEN NULL ELSE ($3::text[])[1 + i % 20] END,
       'op_0' || upper(substr(md5('op' || (i % 400)::text), 1, 25)),
       'dev_0' || upper(substr(md5('dev' || (i % 500)::text), 1, 25)),
       NULL, now() - (i * interval '64 seconds'),
       CASE WHEN i % 100 = 0 THEN 'lock_action' WHEN i % 10 = 0 THEN 'mutation_proxy' ELSE 'view' END,
       'dashboard.viewed', 'success', 5, 'req'
  FROM unnest(ARRAY[$1, $2]) t, generate_series(1, 120000) i`, tenant, other, props)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "ANALYZE bff.operator_activity"); err != nil {
		t.Fatal(err)
	}
	mgr := actor.Actor{TenantID: tenant, OperatorID: ids.New(ids.Operator), Roles: []string{"manager"}, PropertyScope: props}
	// Ids a ULID check accepts: a leading 0, then hex (Crockford's
	// alphabet holds every hex digit).
	op := "op_0" + strings.ToUpper(fmt.Sprintf("%x", md5sum("op7")))[:25]
	f := feed(t, db)
	week := time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	var doc strings.Builder
	first, _, err := f.List(ctx, mgr, activity.FeedQuery{PropertyID: props[3]})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %v %q", err, first.NextCursor)
	}
	for _, tc := range []struct {
		name, index string
		q           activity.FeedQuery
	}{
		{"the tenant's feed (manager, no filter)", "operator_activity_tenant_time_idx", activity.FeedQuery{}},
		{"one operator's feed", "operator_activity_tenant_operator_time_idx", activity.FeedQuery{OperatorID: op}},
		{"one property's feed", "operator_activity_tenant_property_time_idx", activity.FeedQuery{PropertyID: props[3]}},
		{"one category's feed (lock actions)", "operator_activity_tenant_category_time_idx", activity.FeedQuery{Category: "lock_action"}},
		{"one property's next page", "operator_activity_tenant_property_time_idx", activity.FeedQuery{PropertyID: props[3], Cursor: first.NextCursor}},
		{"one property's last week", "operator_activity_tenant_property_time_idx", activity.FeedQuery{PropertyID: props[3], From: week}},
	} {
		plan, sql, err := activity.ExplainFeed(ctx, f, mgr, tc.q, "JSON")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var p []struct {
			Plan planNode `json:"Plan"`
		}
		if err := json.Unmarshal(plan, &p); err != nil || len(p) != 1 {
			t.Fatalf("%s: plan %s: %v", tc.name, plan, err)
		}
		var indexes []string
		p[0].Plan.walk(func(n planNode) {
			switch n.NodeType {
			case "Sort", "Incremental Sort", "Seq Scan", "Bitmap Heap Scan":
				t.Errorf("%s: plan has a %s node: %s", tc.name, n.NodeType, plan)
			case "Index Scan", "Index Only Scan":
				indexes = append(indexes, n.IndexName)
			}
		})
		if len(indexes) != 1 || indexes[0] != tc.index {
			t.Errorf("%s: reads %v, want %s: %s", tc.name, indexes, tc.index, plan)
		}
		text, _, err := activity.ExplainFeed(ctx, f, mgr, tc.q, "TEXT")
		if err != nil {
			t.Fatal(err)
		}
		// The scope's ids say nothing; the plan's shape is the point.
		short := scopeList.ReplaceAllString(string(text), "'{prp_…}'")
		fmt.Fprintf(&doc, "### %s\n\n```sql\n%s\n```\n\n```\n%s\n```\n\n", tc.name, sql, short)
	}
	if path := os.Getenv("ACTIVITY_PLANS"); path != "" {
		if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var scopeList = regexp.MustCompile(`'\{prp_[^}]*\}'`)

func md5sum(s string) [16]byte { return md5.Sum([]byte(s)) }
