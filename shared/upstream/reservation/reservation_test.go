package reservation_test

// Calls against the real fake are in infra/fakes/reservation; these feed
// the client answers the fake never gives.

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

var tid, pid = upstreamtest.IDs()

const date = "2026-11-23"

var serve = upstreamtest.Serving("RESERVATION_SERVICE", reservation.NewClient)

func stay(fields string) string {
	base := `"reservationId":"rsv_01JN8EY4M01KXGKC1R2R3B3S4D","guestName":"Amara Okafor","roomType":"King","status":"expected",` +
		`"arrivalDate":"2026-11-23","departureDate":"2026-11-25","nights":2,"adults":2,"children":0,"vip":false,` +
		`"balanceDue":{"amount":"10.00","currency":"CAD"}`
	return "{" + base + fields + "}"
}

func TestArrivalsCleansItems(t *testing.T) {
	t.Parallel()
	items := []string{
		stay(`,"roomNumber":"512","eta":"2026-11-23T18:30:00Z","folioId":"fol_01JN8EY4M01KXGKC1R2R3B3S4D","notes":"Late\narrival"`),
		stay(`,"reservationId":"RSV-1"`),
		stay(`,"status":"in_limbo"`),
		stay(`,"arrivalDate":"2026-11-26"`),
		stay(`,"departureDate":"tomorrow"`),
		stay(`,"nights":-1`),
		stay(`,"balanceDue":{"amount":"lots","currency":"CAD"}`),
		stay(`,"roomNumber":"<b>512</b>","folioId":"F-1","eta":"soon","guestName":"Amara\u202e Okafor\u0007"`),
	}
	c := serve(t, `{"date":"2026-11-23","items":[`+strings.Join(items, ",")+`]}`)
	got, err := c.Arrivals(upstreamtest.Context(t), tid, pid, date)
	if err != nil {
		t.Fatal(err)
	}
	eta, _ := wire.Instant("2026-11-23T18:30:00Z")
	want := reservation.Stays{Date: date, Items: []reservation.Stay{
		{
			ReservationID: "rsv_01JN8EY4M01KXGKC1R2R3B3S4D", GuestName: "Amara Okafor", RoomNumber: "512", RoomType: "King",
			Status: reservation.StatusExpected, ArrivalDate: "2026-11-23", DepartureDate: "2026-11-25", ETA: eta,
			Nights: 2, Adults: 2, BalanceDue: wire.Money{Amount: "10.00", Currency: "CAD"},
			FolioID: "fol_01JN8EY4M01KXGKC1R2R3B3S4D", Notes: "Late arrival",
		},
		{
			ReservationID: "rsv_01JN8EY4M01KXGKC1R2R3B3S4D", GuestName: "Amara Okafor", RoomType: "King",
			Status: reservation.StatusExpected, ArrivalDate: "2026-11-23", DepartureDate: "2026-11-25",
			Nights: 2, Adults: 2, BalanceDue: wire.Money{Amount: "10.00", Currency: "CAD"},
		},
	}}
	if d := cmp.Diff(want, got, upstreamtest.SameInstant); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestRefusesBrokenAnswers(t *testing.T) {
	t.Parallel()
	today := `{"date":"2026-11-23","arrivals":{"expected":3,"checkedIn":1},"departures":{"expected":2,"checkedOut":2},"inHouse":40,"noShows":0,"roomsTotal":90,"roomsAvailable":12}`
	if got, err := serve(t, today).Today(context.Background(), tid, pid, date); err != nil || got.InHouse != 40 || got.Arrivals.CheckedIn != 1 {
		t.Fatalf("Today = %+v, %v", got, err)
	}
	todays := func(c *reservation.Client) error { _, err := c.Today(context.Background(), tid, pid, date); return err }
	upstreamtest.RefusesBroken(t, serve, []upstreamtest.Broken[*reservation.Client]{
		{Name: "today for another date", Body: strings.Replace(today, "2026-11-23", "2026-11-24", 1), Call: todays},
		{Name: "negative count", Body: strings.Replace(today, `"inHouse":40`, `"inHouse":-1`, 1), Call: todays},
		{Name: "fractional count", Body: strings.Replace(today, `"inHouse":40`, `"inHouse":4.5`, 1), Call: todays},
		{Name: "departures for another date", Body: `{"date":"2026-11-22","items":[]}`, Call: func(c *reservation.Client) error {
			_, err := c.Departures(context.Background(), tid, pid, date)
			return err
		}},
		{Name: "items not a list", Body: `{"items":{}}`, Call: func(c *reservation.Client) error {
			_, err := c.InHouse(context.Background(), tid, pid)
			return err
		}},
	})
}

func TestInHouseNullItems(t *testing.T) {
	t.Parallel()
	got, err := serve(t, `{"items":null}`).InHouse(context.Background(), tid, pid)
	if err != nil || got.Items == nil || len(got.Items) != 0 {
		t.Fatalf("InHouse = %#v, %v; want an empty, non-nil list", got, err)
	}
}
