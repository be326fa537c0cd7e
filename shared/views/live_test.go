package views_test

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// The consumers tell the devices: a property change reaches the devices of
// that property only, a bootstrap version change every device of the tenant.
func TestConsumersAppendViewInvalidated(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	c := compose.New(rdb, compose.Options{})
	ctx := context.Background()
	tenant, p1, p2 := ids.New(ids.Tenant), ids.New(ids.Property), ids.New(ids.Property)
	d1, d2 := ids.New(ids.Device), ids.New(ids.Device)
	for d, props := range map[string][]string{d1: {p1}, d2: {p2}} {
		if _, err := devicestream.Register(ctx, rdb, tenant, d, props, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	changed, _ := events.New(events.ReservationChanged, tenant, p1, map[string]string{"propertyId": p1})
	if err := views.PropertyChanged(c)(ctx, changed); err != nil {
		t.Fatal(err)
	}
	bumped, _ := events.New(events.TenantBootstrapVersionChanged, tenant, "", map[string]int{"version": 3})
	if err := views.VersionChanged(c)(ctx, bumped); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		d1: {`{"propertyId":"` + p1 + `"}`, `{}`},
		d2: {`{}`},
	}
	for d, datas := range want {
		msgs, err := rdb.XRange(ctx, devicestream.Key(rdb, tenant, d), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(datas) {
			t.Fatalf("device %s: %d events, want %d", d, len(msgs), len(datas))
		}
		for i, m := range msgs {
			if m.Values["type"] != devicestream.TypeViewInvalidated || m.Values["data"] != datas[i] {
				t.Errorf("device %s event %d = %v, want viewInvalidated %s", d, i, m.Values, datas[i])
			}
		}
	}
}
