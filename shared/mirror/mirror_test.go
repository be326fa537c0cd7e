package mirror_test

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mirror"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestIfMatch(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]int64{`"7"`: 7, ` W/"12" `: 12, `"9223372036854775807"`: 1<<63 - 1} {
		if got, err := mirror.IfMatch(header, "need"); err != nil || got != want {
			t.Errorf("IfMatch(%q) = %d, %v; want %d", header, got, err, want)
		}
	}
	_, err := mirror.IfMatch("  ", "PUT needs If-Match")
	apperrtest.WantCode(t, err, apperr.PreconditionRequired)
	if d := apperr.From(err).Detail; d != "PUT needs If-Match" {
		t.Errorf("detail %q", d)
	}
	for _, header := range []string{`7`, `"0"`, `"-1"`, `""`, `"7", "8"`, `*`, `"x"`} {
		_, err := mirror.IfMatch(header, "need")
		apperrtest.WantCode(t, err, apperr.ValidationFailed)
	}
	if got := mirror.ETag(42); got != `"42"` {
		t.Errorf("ETag = %s", got)
	}
}

type doc struct {
	Owner   string `json:"owner"`
	Version int64  `json:"version"`
}

// The mirror moves only to a higher version; a store of an older one
// answers the newer mirrored document, and what valid refuses is never
// answered.
func TestStoreOnlyMovesForward(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	key := rdb.KeyNames().Preferences(ids.New(ids.Tenant), ids.New(ids.Operator))
	mine := func(d doc) bool { return d.Owner == "me" }
	if _, ok := mirror.Load(ctx, rdb, key, "doc", mine); ok {
		t.Fatal("an empty mirror answered")
	}
	if got := mirror.Store(ctx, rdb, key, "doc", 2, doc{"me", 2}, time.Minute, mine); got.Version != 2 {
		t.Fatalf("store 2 = %+v", got)
	}
	if got := mirror.Store(ctx, rdb, key, "doc", 1, doc{"me", 1}, time.Minute, mine); got.Version != 2 {
		t.Fatalf("store of an older version answered %+v, want the mirrored 2", got)
	}
	if got, ok := mirror.Load(ctx, rdb, key, "doc", mine); !ok || got.Version != 2 {
		t.Fatalf("load = %+v, %v; want version 2", got, ok)
	}
	if _, ok := mirror.Load(ctx, rdb, key, "doc", func(d doc) bool { return d.Owner == "someone else" }); ok {
		t.Fatal("a document valid refuses was answered")
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v, want within a minute", ttl)
	}
}
