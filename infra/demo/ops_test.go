package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

var fixed = time.Date(2026, 11, 23, 19, 7, 0, 0, time.UTC)

func loadOps(t *testing.T, now time.Time) (*Ops, *Dataset) {
	t.Helper()
	ds, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return NewOps(ds, func() time.Time { return now }), ds
}

func snapshot(t *testing.T, o *Ops, tid, pid string, at time.Time) *Snapshot {
	t.Helper()
	sn, err := o.SnapshotAt(tid, pid, at)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// everything renders every answer of a snapshot, as the fakes would.
func everything(sn *Snapshot) string {
	b, _ := json.Marshal([]any{
		sn.TodaySummary(sn.Today), sn.Arrivals(sn.Today), sn.Departures(sn.Today + 1), sn.InHouse(),
		sn.HousekeepingBoard(), sn.MaintenanceBoard(), sn.Occupancy(sn.Today - 3), sn.Revenue(sn.Today),
		sn.Suggestions(true), sn.SuggestionSummary(), sn.Alerts(true), sn.AlertSummary(), sn.Devices(),
	})
	return string(b)
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, ds := loadOps(t, fixed)
	b, _ := loadOps(t, fixed)
	for _, tn := range ds.Tenants {
		for _, p := range tn.Properties {
			x := everything(snapshot(t, a, tn.ID, p.ID, fixed))
			if y := everything(snapshot(t, a, tn.ID, p.ID, fixed)); x != y {
				t.Errorf("%s: two snapshots differ", p.Name)
			}
			if y := everything(snapshot(t, b, tn.ID, p.ID, fixed)); x != y {
				t.Errorf("%s: two generators differ", p.Name)
			}
			// Within a quantum nothing moves.
			start := fixed.Truncate(Quantum)
			if y := everything(snapshot(t, a, tn.ID, p.ID, start.Add(Quantum-time.Millisecond))); x != y {
				t.Errorf("%s: answers move within a quantum", p.Name)
			}
		}
	}
}

func TestSnapshotErrors(t *testing.T) {
	t.Parallel()
	o, ds := loadOps(t, fixed)
	harbour, casa := ds.Tenants[0], ds.Tenants[1]
	if _, err := o.Snapshot(ids.New(ids.Tenant), harbour.Properties[0].ID); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
	if _, err := o.Snapshot(casa.ID, harbour.Properties[0].ID); !errors.Is(err, ErrPropertyNotFound) {
		t.Errorf("another tenant's property: %v", err)
	}
	sn, err := o.Snapshot(harbour.ID, harbour.Properties[0].ID)
	if err != nil || sn.Today.String() != "2026-11-23" || !sn.Anchor.Equal(time.Date(2026, 11, 23, 19, 5, 0, 0, time.UTC)) {
		t.Fatalf("snapshot %+v, %v", sn, err)
	}
	// Business dates are local: late evening in Halifax is already
	// tomorrow in Lisbon.
	late := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	if d := snapshot(t, o, harbour.ID, harbour.Properties[0].ID, late).Today.String(); d != "2026-11-23" {
		t.Errorf("Halifax at %v: %s", late, d)
	}
	if d := snapshot(t, o, casa.ID, casa.Properties[0].ID, late).Today.String(); d != "2026-11-24" {
		t.Errorf("Lisbon at %v: %s", late, d)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in string
		ok bool
	}{
		{"2026-11-23", true}, {"2000-01-01", true}, {"2099-12-31", true},
		{"1999-12-31", false}, {"2100-01-01", false}, {"2026-2-3", false}, {"2026-02-30", false}, {"", false}, {"today", false},
	}
	for _, tc := range cases {
		d, err := ParseDate(tc.in)
		if (err == nil) != tc.ok || (tc.ok && d.String() != tc.in) {
			t.Errorf("ParseDate(%q) = %v, %v", tc.in, d, err)
		}
	}
}

func TestCurrency(t *testing.T) {
	t.Parallel()
	for tz, want := range map[string]string{
		"America/Halifax": "CAD", "America/Toronto": "CAD", "Europe/Lisbon": "EUR",
		"Europe/London": "GBP", "America/New_York": "USD", "Asia/Tokyo": "USD",
	} {
		if got := (&Property{Timezone: tz}).Currency(); got != want {
			t.Errorf("%s: %s, want %s", tz, got, want)
		}
	}
}

func TestULIDs(t *testing.T) {
	t.Parallel()
	r := rngOf("ulid-test")
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	prev := ""
	for _, at := range []time.Time{time.Unix(0, 0), fixed, fixed.Add(time.Millisecond), time.Date(2099, 12, 31, 23, 59, 59, 999e6, time.UTC)} {
		s := ulidAt(at, r)
		var ms int64
		for _, c := range s[:10] { // the time part
			ms = ms*32 + int64(strings.IndexRune(alphabet, c))
		}
		if !ids.Valid(ids.Reservation, "rsv_"+s) || ms != at.UnixMilli() || s <= prev {
			t.Errorf("ulidAt(%v) = %s (time part %d, after %s)", at, s, ms, prev)
		}
		prev = s
	}
}

// Over two months of days and several times of day, at every property:
// rooms never hold two stays a night, a stay is the same on every date it
// appears, everything has well-formed ids and the services' numbers agree.
func TestWorldIsConsistent(t *testing.T) {
	t.Parallel()
	o, ds := loadOps(t, fixed)
	opaque := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	for _, tn := range ds.Tenants {
		for _, p := range tn.Properties {
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				base := snapshot(t, o, tn.ID, p.ID, fixed)
				h := base.h

				// One stay per room and night, and every stay is the same
				// whichever date finds it.
				type key struct {
					room string
					arr  Date
				}
				stays := map[key]stay{}
				for d := base.Today - 30; d <= base.Today+30; d++ {
					nights := map[string]Date{}
					for _, s := range h.staysTouching(d) {
						if prev, ok := stays[key{s.room.number, s.arr}]; ok && prev.dep != s.dep {
							t.Fatalf("room %s stay from %s ends %s and %s", s.room.number, s.arr, prev.dep, s.dep)
						}
						stays[key{s.room.number, s.arr}] = s
						if s.arr <= d && d < s.dep {
							if other, taken := nights[s.room.number]; taken {
								t.Fatalf("room %s sold twice for %s (arrivals %s and %s)", s.room.number, d, other, s.arr)
							}
							nights[s.room.number] = s.arr
						}
					}
				}

				for _, hour := range []int{3, 8, 12, 15, 19, 23} {
					at := time.Date(2026, 11, 23, hour, 10, 0, 0, h.loc)
					sn := snapshot(t, o, tn.ID, p.ID, at)
					checkSnapshot(t, sn, opaque)
				}
			})
		}
	}
}

func checkSnapshot(t *testing.T, sn *Snapshot, opaque *regexp.Regexp) {
	t.Helper()
	where := fmt.Sprintf("%s at %s", sn.Property.Name, sn.Anchor.In(sn.h.loc).Format("15:04"))
	today := sn.TodaySummary(sn.Today)
	in := sn.InHouse()
	if today.InHouse != len(in.Items) || today.RoomsAvailable < 0 || today.RoomsAvailable > today.RoomsTotal {
		t.Errorf("%s: today %+v with %d in house", where, today, len(in.Items))
	}
	// A stay found in house is the one that arrived: same id, room, guest.
	for _, s := range in.Items {
		d, err := ParseDate(s.ArrivalDate)
		if err != nil {
			t.Fatal(err)
		}
		found := slices.ContainsFunc(sn.Arrivals(d).Items, func(a StayDoc) bool {
			return a.ReservationID == s.ReservationID && a.GuestName == s.GuestName && a.RoomNumber == s.RoomNumber && a.Status == s.Status
		})
		if !found {
			t.Errorf("%s: in-house %s is not among the arrivals of %s", where, s.ReservationID, s.ArrivalDate)
		}
	}
	lists := append(append(sn.Arrivals(sn.Today).Items, sn.Departures(sn.Today).Items...), in.Items...)
	for _, s := range lists {
		if !ids.Valid(ids.Reservation, s.ReservationID) || (s.FolioID != "" && !ids.Valid(ids.Folio, s.FolioID)) {
			t.Errorf("%s: stay ids %s %s", where, s.ReservationID, s.FolioID)
		}
		if s.Status == StayCheckedIn && (s.RoomNumber == "" || s.FolioID == "") {
			t.Errorf("%s: checked-in stay without room or folio: %+v", where, s)
		}
	}
	occupied := 0
	for _, r := range sn.HousekeepingBoard().Rooms {
		if r.Occupied {
			occupied++
		}
		if r.UpdatedAt.After(sn.Anchor) {
			t.Errorf("%s: room %s updated in the future", where, r.RoomNumber)
		}
	}
	if occupied != len(in.Items) {
		t.Errorf("%s: %d occupied rooms, %d guests in house", where, occupied, len(in.Items))
	}
	for _, wo := range sn.MaintenanceBoard().WorkOrders {
		if !ids.Valid(ids.Prefix("wo"), wo.ID) || wo.ReportedAt.After(sn.Anchor) {
			t.Errorf("%s: work order %+v", where, wo)
		}
	}
	sugg := sn.Suggestions(true).Items
	if len(sugg) < 4 {
		t.Errorf("%s: only %d suggestions", where, len(sugg))
	}
	withProv := 0
	for _, s := range sugg {
		if !opaque.MatchString(s.SuggestionID) || s.PropertyID != sn.Property.ID || s.ExpiresAt.Before(s.CreatedAt.Time) || s.CreatedAt.After(sn.Anchor) {
			t.Errorf("%s: suggestion %+v", where, s)
		}
		if s.Provenance != nil {
			withProv++
		}
	}
	if withProv == 0 || withProv == len(sugg) {
		t.Errorf("%s: %d of %d suggestions with provenance, want a mix", where, withProv, len(sugg))
	}
	for _, a := range sn.Alerts(true).Items {
		if !opaque.MatchString(a.AlertID) || a.RaisedAt.After(sn.Anchor) || (!a.ResolvedAt.IsZero() && a.ResolvedAt.Before(a.RaisedAt.Time)) {
			t.Errorf("%s: alert %+v", where, a)
		}
	}
	for _, d := range sn.Devices().Devices {
		if !ids.Valid(ids.Device, d.DeviceID) || d.LastSeenAt.After(sn.Anchor) {
			t.Errorf("%s: device %+v", where, d)
		}
	}
}
