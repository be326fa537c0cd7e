package views

import (
	"context"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
)

// Devices is the BFF's own device records as the syncStatus widget reads
// them (*devices.Service).
type Devices interface {
	SyncSummary(ctx context.Context, tenantID, propertyID string) (devices.SyncSummary, error)
}

// Sources are the upstream clients widgets read from. A function builds
// only the clients its widgets need; a nil client makes its widgets
// unavailable rather than panic.
type Sources struct {
	Reservation  *reservation.Client
	Housekeeping *housekeeping.Client
	Maintenance  *maintenance.Client
	Revenue      *revenue.Client
	AI           *aiorchestrator.Client
	Notification *notification.Client
	// Devices feeds syncStatus: the heartbeats the BFF records are what
	// the domain model's DeviceSyncStatus is, so the widget summarises
	// them rather than asking sync-service.
	Devices Devices
}

// Scope is what one composition is about.
type Scope struct {
	TenantID, PropertyID string
	Date                 string // the property's civil date, YYYY-MM-DD
	// GuestFree strips guest data from rows (roles without the right).
	GuestFree bool
}

// Fetch loads one widget or view body.
type Fetch func(ctx context.Context) (any, error)

// upcoming caps the rows a dashboard widget previews; the full lists are
// the workbench views.
const upcoming = 5

var errNoClient = fmt.Errorf("views: upstream client not configured")

// from is the loader of one call to client c; a nil c makes it
// unavailable. body turns the answer into what is shown (nil: the answer
// as is).
func from[C, T any](c *C, call func(context.Context, *C) (T, error), body func(T) any) Fetch {
	return func(ctx context.Context) (any, error) {
		if c == nil {
			return nil, errNoClient
		}
		v, err := call(ctx, c)
		switch {
		case err != nil:
			return nil, err
		case body == nil:
			return v, nil
		}
		return body(v), nil
	}
}

// DashboardFetch returns the loader of dashboard widget name.
func (s *Sources) DashboardFetch(name string, sc Scope) Fetch {
	t, p, d := sc.TenantID, sc.PropertyID, sc.Date
	switch name {
	case WToday:
		return from(s.Reservation, func(ctx context.Context, c *reservation.Client) (reservation.Today, error) {
			return c.Today(ctx, t, p, d)
		}, nil)
	case WArrivals:
		return from(s.Reservation, sc.arrivals, func(st reservation.Stays) any { return preview(st, reservation.StatusExpected) })
	case WDepartures:
		return from(s.Reservation, sc.departures, func(st reservation.Stays) any { return preview(st, reservation.StatusCheckedIn) })
	case WInHouse:
		return from(s.Reservation, sc.inHouseStays, inHouse)
	case WOccupancy:
		return from(s.Revenue, func(ctx context.Context, c *revenue.Client) (revenue.Occupancy, error) {
			return c.Occupancy(ctx, t, p, d)
		}, nil)
	case WRevenue:
		return from(s.Revenue, func(ctx context.Context, c *revenue.Client) (revenue.Revenue, error) { return c.Revenue(ctx, t, p, d) }, nil)
	case WAIInbox:
		return from(s.AI, func(ctx context.Context, c *aiorchestrator.Client) (aiorchestrator.Summary, error) {
			return c.Summary(ctx, t, p)
		}, nil)
	case WAlerts:
		return from(s.Notification, func(ctx context.Context, c *notification.Client) (notification.Summary, error) {
			return c.Summary(ctx, t, p)
		}, nil)
	case WHousekeepingSummary:
		return from(s.Housekeeping, sc.housekeepingBoard, func(b housekeeping.Board) any { return b.Summary })
	case WMaintenanceSummary:
		return from(s.Maintenance, sc.maintenanceBoard, func(b maintenance.Board) any { return b.Summary })
	case WSyncStatus:
		return func(ctx context.Context) (any, error) {
			if s.Devices == nil {
				return nil, errNoClient
			}
			return s.Devices.SyncSummary(ctx, t, p)
		}
	}
	return func(context.Context) (any, error) { return nil, fmt.Errorf("unknown widget %q", name) }
}

// ViewFetch returns the loader of workbench view kind: its items.
func (s *Sources) ViewFetch(kind string, sc Scope) Fetch {
	items := func(st reservation.Stays) any { return st.Items }
	switch kind {
	case VToday:
		return from(s.Reservation, func(ctx context.Context, _ *reservation.Client) ([]Movement, error) { return s.todayItems(ctx, sc) },
			func(ms []Movement) any {
				if sc.GuestFree {
					return guestFree(ms)
				}
				return ms
			})
	case VArrivals:
		return from(s.Reservation, sc.arrivals, items)
	case VDepartures:
		return from(s.Reservation, sc.departures, items)
	case VInHouse:
		return from(s.Reservation, sc.inHouseStays, items)
	case VHousekeepingBoard:
		// A board's items are its rooms; the summary is the dashboard's.
		return from(s.Housekeeping, sc.housekeepingBoard, func(b housekeeping.Board) any { return nonNil(b.Rooms) })
	case VMaintenanceBoard:
		return from(s.Maintenance, sc.maintenanceBoard, func(b maintenance.Board) any { return nonNil(b.WorkOrders) })
	}
	return func(context.Context) (any, error) { return nil, fmt.Errorf("unknown view %q", kind) }
}

// The upstream calls a dashboard widget shares with a workbench view: the
// widget summarises the answer the view lists.

func (sc Scope) arrivals(ctx context.Context, c *reservation.Client) (reservation.Stays, error) {
	return c.Arrivals(ctx, sc.TenantID, sc.PropertyID, sc.Date)
}

func (sc Scope) departures(ctx context.Context, c *reservation.Client) (reservation.Stays, error) {
	return c.Departures(ctx, sc.TenantID, sc.PropertyID, sc.Date)
}

func (sc Scope) inHouseStays(ctx context.Context, c *reservation.Client) (reservation.Stays, error) {
	return c.InHouse(ctx, sc.TenantID, sc.PropertyID)
}

func (sc Scope) housekeepingBoard(ctx context.Context, c *housekeeping.Client) (housekeeping.Board, error) {
	return c.Board(ctx, sc.TenantID, sc.PropertyID)
}

func (sc Scope) maintenanceBoard(ctx context.Context, c *maintenance.Client) (maintenance.Board, error) {
	return c.Board(ctx, sc.TenantID, sc.PropertyID)
}

// nonNil keeps an empty list an array ([]) in JSON.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// inHouse counts the guests in house and the VIPs among them.
func inHouse(st reservation.Stays) any {
	w := InHouseWidget{Count: len(st.Items)}
	for _, x := range st.Items {
		if x.VIP {
			w.VIP++
		}
	}
	return w
}

// ListWidget previews a day's arrivals or departures.
type ListWidget struct {
	Expected int                `json:"expected"`
	Pending  int                `json:"pending"`
	Next     []reservation.Stay `json:"next"`
}

// InHouseWidget counts the guests in house.
type InHouseWidget struct {
	Count int `json:"count"`
	VIP   int `json:"vip"`
}

// preview counts the stays still in status pending (expected arrivals,
// checked-in departures) and shows the first few of them.
func preview(st reservation.Stays, pending reservation.Status) ListWidget {
	w := ListWidget{Expected: len(st.Items), Next: []reservation.Stay{}}
	for _, x := range st.Items {
		if x.Status != pending {
			continue
		}
		w.Pending++
		if len(w.Next) < upcoming {
			w.Next = append(w.Next, x)
		}
	}
	return w
}

// Movement is one row of the today view: an arrival or a departure.
type Movement struct {
	Movement string `json:"movement"` // arrival | departure
	reservation.Stay
}

// todayItems is the day's movements at the desk: arrivals and departures
// fetched in parallel, arrivals first.
func (s *Sources) todayItems(ctx context.Context, sc Scope) ([]Movement, error) {
	var (
		dep    reservation.Stays
		depErr error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		dep, depErr = sc.departures(ctx, s.Reservation)
	}()
	arr, err := sc.arrivals(ctx, s.Reservation)
	<-done
	if err != nil {
		return nil, err
	}
	if depErr != nil {
		return nil, depErr
	}
	out := make([]Movement, 0, len(arr.Items)+len(dep.Items))
	for _, x := range arr.Items {
		out = append(out, Movement{Movement: "arrival", Stay: x})
	}
	for _, x := range dep.Items {
		out = append(out, Movement{Movement: "departure", Stay: x})
	}
	return out, nil
}

// DeskMovement is a today row without guest data (names, balances, folio
// ids, notes): what roles without the guest-data right see. It is built
// field by field from an allow-list, so a field added to Stay stays out
// until someone decides it is not guest data.
type DeskMovement struct {
	Movement      string             `json:"movement"`
	ReservationID string             `json:"reservationId"`
	RoomNumber    string             `json:"roomNumber,omitempty"`
	RoomType      string             `json:"roomType"`
	Status        reservation.Status `json:"status"`
	ArrivalDate   string             `json:"arrivalDate"`
	DepartureDate string             `json:"departureDate"`
	ETA           jsontime.Time      `json:"eta,omitzero"`
	Nights        int                `json:"nights"`
	Adults        int                `json:"adults"`
	Children      int                `json:"children"`
	VIP           bool               `json:"vip"`
}

func guestFree(ms []Movement) []DeskMovement {
	out := make([]DeskMovement, len(ms))
	for i, m := range ms {
		out[i] = DeskMovement{
			Movement: m.Movement, ReservationID: m.ReservationID, RoomNumber: m.RoomNumber, RoomType: m.RoomType,
			Status: m.Status, ArrivalDate: m.ArrivalDate, DepartureDate: m.DepartureDate, ETA: m.ETA,
			Nights: m.Nights, Adults: m.Adults, Children: m.Children, VIP: m.VIP,
		}
	}
	return out
}
