package views_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

func TestVersionChangedIsOrderIndependent(t *testing.T) {
	t.Parallel()
	c := compose.New(testenv.Redis(t), compose.Options{})
	fn := views.VersionChanged(c)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	ev := func(data any) events.Envelope {
		e, err := events.New(events.TenantBootstrapVersionChanged, tenant, "", data)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Delivered out of order and twice: 7, 3, 7.
	for _, v := range []int64{7, 3, 7} {
		if err := fn(ctx, ev(map[string]int64{"version": v})); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := c.Version(ctx, tenant); got != 7 {
		t.Fatalf("version = %d, want 7", got)
	}
	for _, bad := range []any{map[string]string{"version": "x"}, map[string]int{}, map[string]int{"version": -1}} {
		if err := fn(ctx, ev(bad)); !errors.Is(err, consume.ErrPoison) {
			t.Errorf("data %v: err %v, want poison", bad, err)
		}
	}
}

func TestPropertyChangedNeedsAProperty(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	fn := views.PropertyChanged(compose.New(rdb, compose.Options{}))
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	e, _ := events.New(events.HousekeepingChanged, tenant, prop, map[string]string{"propertyId": prop})
	for range 2 {
		if err := fn(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := rdb.Get(ctx, rdb.Key("pgen", tenant, prop)).Int(); n != 2 {
		t.Fatalf("generation = %d, want 2 (each delivery drops the cache)", n)
	}
	bad, _ := events.New(events.HousekeepingChanged, tenant, "", map[string]string{"propertyId": "prp_x"})
	if err := fn(ctx, bad); !errors.Is(err, consume.ErrPoison) {
		t.Fatalf("malformed property: %v, want poison", err)
	}
}
