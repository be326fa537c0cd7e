package reservation_test

// The BFF's reservation-service client (shared/upstream/reservation)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/reservation"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *reservation.Client {
	t.Helper()
	c, err := reservation.NewClient(reservation.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesEveryEndpoint(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			sn := r.Snapshot(t, tn.ID, p.ID)
			for _, d := range []demo.Date{sn.Today - 1, sn.Today, sn.Today + 1} {
				t.Run(p.Name+"/"+d.String(), func(t *testing.T) {
					t.Parallel()
					today, err := c.Today(ctx, tn.ID, p.ID, d.String())
					if err != nil {
						t.Fatal(err)
					}
					scopedtest.SameJSON(t, "Today", sn.TodaySummary(d), today)

					arr, err := c.Arrivals(ctx, tn.ID, p.ID, d.String())
					if err != nil {
						t.Fatal(err)
					}
					scopedtest.SameJSON(t, "Arrivals", sn.Arrivals(d), arr)
					if len(arr.Items) != today.Arrivals.Expected {
						t.Errorf("%d arrivals listed, today says %d", len(arr.Items), today.Arrivals.Expected)
					}

					dep, err := c.Departures(ctx, tn.ID, p.ID, d.String())
					if err != nil {
						t.Fatal(err)
					}
					scopedtest.SameJSON(t, "Departures", sn.Departures(d), dep)
					if len(dep.Items) != today.Departures.Expected {
						t.Errorf("%d departures listed, today says %d", len(dep.Items), today.Departures.Expected)
					}
					for _, s := range append(arr.Items, dep.Items...) {
						if !s.Status.Valid() || s.BalanceDue.Currency != p.Currency() || s.GuestName == "" {
							t.Errorf("stay %+v", s)
						}
					}
				})
			}
			t.Run(p.Name+"/in-house", func(t *testing.T) {
				t.Parallel()
				in, err := c.InHouse(ctx, tn.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				scopedtest.SameJSON(t, "InHouse", sn.InHouse(), in)
				today, err := c.Today(ctx, tn.ID, p.ID, sn.Today.String())
				if err != nil {
					t.Fatal(err)
				}
				if len(in.Items) != today.InHouse {
					t.Errorf("%d in house listed, today says %d", len(in.Items), today.InHouse)
				}
				for _, s := range in.Items {
					if s.Status != reservation.StatusCheckedIn || s.RoomNumber == "" || s.FolioID == "" {
						t.Errorf("in-house stay %+v", s)
					}
				}
			})
		}
	}
}

func TestClientRejectsBadDates(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, time.Second)
	tn := r.DS.Tenants[0]
	for _, d := range []string{"", "2026-2-3", "03/02/2026", "2026-02-30", "today"} {
		if _, err := c.Today(context.Background(), tn.ID, tn.Properties[0].ID, d); scopedtest.CodeOf(err) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
			t.Errorf("Today(%q): %v, want VALIDATION_FAILED", d, err)
		}
	}
	if st := r.Svc.Fake().Stats(); len(st) != 0 {
		t.Fatalf("bad dates reached the upstream: %v", st)
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	date := scopedtest.Fixed.Format(time.DateOnly)
	calls := map[string]func(*reservation.Client) scopedtest.Call{
		"today": func(c *reservation.Client) scopedtest.Call {
			return func(ctx context.Context, tid, pid string) error { _, err := c.Today(ctx, tid, pid, date); return err }
		},
		"arrivals": func(c *reservation.Client) scopedtest.Call {
			return func(ctx context.Context, tid, pid string) error {
				_, err := c.Arrivals(ctx, tid, pid, date)
				return err
			}
		},
		"departures": func(c *reservation.Client) scopedtest.Call {
			return func(ctx context.Context, tid, pid string) error {
				_, err := c.Departures(ctx, tid, pid, date)
				return err
			}
		},
		"in-house": func(c *reservation.Client) scopedtest.Call {
			return func(ctx context.Context, tid, pid string) error { _, err := c.InHouse(ctx, tid, pid); return err }
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			scopedtest.Failures(t, build, reservation.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
				return call(newClient(t, url, timeout))
			})
		})
	}
}

// A reservation found by id across the tenant's properties; another
// tenant's is unknown.
func TestClientFindsAReservationsProperty(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	tn, other := r.DS.Tenants[0], r.DS.Tenants[1]
	for _, p := range tn.Properties {
		sn := r.Snapshot(t, tn.ID, p.ID)
		in := sn.InHouse().Items
		if len(in) == 0 {
			t.Fatalf("%s has nobody in house", p.Name)
		}
		b, err := c.Reservation(ctx, tn.ID, in[0].ReservationID)
		if err != nil || b.PropertyID != p.ID || b.RoomNumber != in[0].RoomNumber || string(b.Status) != in[0].Status {
			t.Fatalf("%s: %+v, %v; want %+v", p.Name, b, err, in[0])
		}
		if _, err := c.Reservation(ctx, other.ID, in[0].ReservationID); !errors.Is(err, httpc.ErrNotFound) {
			t.Fatalf("another tenant's reservation: %v", err)
		}
	}
	if _, err := c.Reservation(ctx, tn.ID, "rsv_nope"); !apperr.Is(err, apperr.ValidationFailed) {
		t.Fatalf("malformed id: %v", err)
	}
}
