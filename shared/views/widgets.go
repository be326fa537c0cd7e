package views

import (
	"context"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

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
	Sync         *syncsvc.Client
}

// Scope is what one composition is about.
type Scope struct {
	TenantID, PropertyID string
	Date                 string // the property's civil date, YYYY-MM-DD
}

// Fetch loads one widget or view body.
type Fetch func(ctx context.Context) (any, error)

// upcoming caps the rows a dashboard widget previews; the full lists are
// the workbench views.
const upcoming = 5

var errNoClient = fmt.Errorf("views: upstream client not configured")

// DashboardFetch returns the loader of dashboard widget name.
func (s *Sources) DashboardFetch(name string, sc Scope) Fetch {
	t, p, d := sc.TenantID, sc.PropertyID, sc.Date
	switch name {
	case WToday:
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			return s.Reservation.Today(ctx, t, p, d)
		}
	case WArrivals:
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			st, err := s.Reservation.Arrivals(ctx, t, p, d)
			if err != nil {
				return nil, err
			}
			return preview(st, reservation.StatusExpected), nil
		}
	case WDepartures:
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			st, err := s.Reservation.Departures(ctx, t, p, d)
			if err != nil {
				return nil, err
			}
			return preview(st, reservation.StatusCheckedIn), nil
		}
	case WInHouse:
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			st, err := s.Reservation.InHouse(ctx, t, p)
			if err != nil {
				return nil, err
			}
			w := InHouseWidget{Count: len(st.Items)}
			for _, x := range st.Items {
				if x.VIP {
					w.VIP++
				}
			}
			return w, nil
		}
	case WOccupancy:
		return func(ctx context.Context) (any, error) {
			if s.Revenue == nil {
				return nil, errNoClient
			}
			return s.Revenue.Occupancy(ctx, t, p, d)
		}
	case WRevenue:
		return func(ctx context.Context) (any, error) {
			if s.Revenue == nil {
				return nil, errNoClient
			}
			return s.Revenue.Revenue(ctx, t, p, d)
		}
	case WAIInbox:
		return func(ctx context.Context) (any, error) {
			if s.AI == nil {
				return nil, errNoClient
			}
			return s.AI.Summary(ctx, t, p)
		}
	case WAlerts:
		return func(ctx context.Context) (any, error) {
			if s.Notification == nil {
				return nil, errNoClient
			}
			return s.Notification.Summary(ctx, t, p)
		}
	case WHousekeepingSummary:
		return func(ctx context.Context) (any, error) {
			if s.Housekeeping == nil {
				return nil, errNoClient
			}
			b, err := s.Housekeeping.Board(ctx, t, p)
			if err != nil {
				return nil, err
			}
			return b.Summary, nil
		}
	case WMaintenanceSummary:
		return func(ctx context.Context) (any, error) {
			if s.Maintenance == nil {
				return nil, errNoClient
			}
			b, err := s.Maintenance.Board(ctx, t, p)
			if err != nil {
				return nil, err
			}
			return b.Summary, nil
		}
	case WSyncStatus:
		return func(ctx context.Context) (any, error) {
			if s.Sync == nil {
				return nil, errNoClient
			}
			st, err := s.Sync.DevicesStatus(ctx, t, p)
			if err != nil {
				return nil, err
			}
			return st.Summary, nil
		}
	}
	return func(context.Context) (any, error) { return nil, fmt.Errorf("unknown widget %q", name) }
}

// ViewFetch returns the loader of workbench view kind: its items.
func (s *Sources) ViewFetch(kind string, sc Scope) Fetch {
	t, p, d := sc.TenantID, sc.PropertyID, sc.Date
	list := func(f func(ctx context.Context) (reservation.Stays, error)) Fetch {
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			st, err := f(ctx)
			if err != nil {
				return nil, err
			}
			return st.Items, nil
		}
	}
	switch kind {
	case VToday:
		return func(ctx context.Context) (any, error) {
			if s.Reservation == nil {
				return nil, errNoClient
			}
			return s.todayItems(ctx, sc)
		}
	case VArrivals:
		return list(func(ctx context.Context) (reservation.Stays, error) { return s.Reservation.Arrivals(ctx, t, p, d) })
	case VDepartures:
		return list(func(ctx context.Context) (reservation.Stays, error) { return s.Reservation.Departures(ctx, t, p, d) })
	case VInHouse:
		return list(func(ctx context.Context) (reservation.Stays, error) { return s.Reservation.InHouse(ctx, t, p) })
	case VHousekeepingBoard:
		return func(ctx context.Context) (any, error) {
			if s.Housekeeping == nil {
				return nil, errNoClient
			}
			return s.Housekeeping.Board(ctx, t, p)
		}
	case VMaintenanceBoard:
		return func(ctx context.Context) (any, error) {
			if s.Maintenance == nil {
				return nil, errNoClient
			}
			return s.Maintenance.Board(ctx, t, p)
		}
	}
	return func(context.Context) (any, error) { return nil, fmt.Errorf("unknown view %q", kind) }
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
		dep, depErr = s.Reservation.Departures(ctx, sc.TenantID, sc.PropertyID, sc.Date)
	}()
	arr, err := s.Reservation.Arrivals(ctx, sc.TenantID, sc.PropertyID, sc.Date)
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
