package demo

import (
	"cmp"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// minutesAgo is the instant m minutes before the anchor.
func (sn *Snapshot) minutesAgo(m int) jsontime.Time {
	return jsontime.Of(sn.Anchor.Add(-time.Duration(m) * time.Minute))
}

// todayAt is minute-of-day m of the business date, never after the anchor.
func (sn *Snapshot) todayAt(m int) jsontime.Time {
	t := sn.Today.at(sn.h.loc, m)
	if t.After(sn.Anchor) {
		t = sn.Anchor
	}
	return jsontime.Of(t)
}

// HousekeepingBoard is housekeeping-service's board now: every room of the
// property (as many as reservation-service's roomsTotal), occupied exactly
// where a guest is checked in, out of order where reservation-service takes
// rooms out of the available count.
func (sn *Snapshot) HousekeepingBoard() HousekeepingBoardDoc {
	h := sn.h
	dy := sn.day(sn.Today)
	byRoom := map[*room][]stay{}
	for _, s := range h.staysTouching(sn.Today) {
		if sn.status(s) != StayNoShow {
			byRoom[s.room] = append(byRoom[s.room], s)
		}
	}
	var doc HousekeepingBoardDoc
	doc.Rooms = make([]RoomDoc, 0, len(h.rooms))
	for _, r := range h.rooms {
		rng := rngOf(h.prop.ID, "hk", r.number, sn.Today)
		rd := RoomDoc{RoomNumber: r.number, RoomType: r.typ.name, Priority: PriorityNormal}
		if slices.Contains(dy.ooo, r) {
			rd.Status = RoomOutOfOrder
			rd.UpdatedAt = sn.minutesAgo(120 + rng.IntN(20*60))
			doc.Rooms = append(doc.Rooms, rd)
			continue
		}
		var departing, staying, arriving *stay
		for i := range byRoom[r] {
			s := &byRoom[r][i]
			switch {
			case s.dep == sn.Today:
				departing = s
			case s.arr == sn.Today:
				arriving = s
			default:
				staying = s
			}
		}
		cleanAfter := 60 + rng.IntN(150) // minutes from checkout to clean
		switch {
		case arriving != nil && sn.status(*arriving) == StayCheckedIn:
			rd.Status, rd.Occupied = RoomClean, true
			rd.UpdatedAt = sn.todayAt(arriving.eta)
		case departing != nil && sn.status(*departing) == StayCheckedIn:
			rd.Status, rd.Occupied = RoomDirty, true
			rd.UpdatedAt = sn.todayAt(7*60 + rng.IntN(60))
		case departing != nil: // checked out today
			out := departing.checkout
			switch {
			case sn.tod < out+cleanAfter:
				rd.Status, rd.UpdatedAt = RoomDirty, sn.todayAt(out)
			case sn.tod < out+cleanAfter+45:
				rd.Status, rd.UpdatedAt = RoomClean, sn.todayAt(out+cleanAfter)
			default:
				rd.Status, rd.UpdatedAt = RoomInspected, sn.todayAt(out+cleanAfter+45)
			}
		case staying != nil:
			rd.Occupied = sn.status(*staying) == StayCheckedIn
			service := 9*60 + 30 + rng.IntN(6*60) // stay-over service 09:30–15:30
			if sn.tod < service {
				rd.Status, rd.UpdatedAt = RoomDirty, sn.todayAt(7*60)
			} else {
				rd.Status, rd.UpdatedAt = RoomClean, sn.todayAt(service)
			}
		default: // vacant since yesterday at least
			rd.Status = RoomInspected
			if rng.IntN(4) == 0 {
				rd.Status = RoomClean
			}
			rd.UpdatedAt = sn.todayAt(6*60 + rng.IntN(120))
			if arriving == nil {
				rd.Priority = PriorityLow
			}
		}
		if arriving != nil && sn.status(*arriving) == StayExpected && rd.Status != RoomInspected {
			rd.Priority = PriorityHigh // a guest is on the way
		}
		if rd.Status == RoomDirty || rd.Status == RoomClean && !rd.Occupied {
			rd.Assignee = h.attendants[(r.floor-2)%len(h.attendants)]
		}
		doc.Rooms = append(doc.Rooms, rd)
	}
	for _, rd := range doc.Rooms {
		switch rd.Status {
		case RoomClean:
			doc.Summary.Clean++
		case RoomDirty:
			doc.Summary.Dirty++
		case RoomInspected:
			doc.Summary.Inspected++
		case RoomOutOfOrder:
			doc.Summary.OutOfOrder++
		}
	}
	return doc
}

var (
	outOfOrderJobs = []string{
		"Leaking shower valve, water on bathroom floor",
		"HVAC unit not cooling, compressor fault",
		"Broken window latch, room not secure",
		"Ceiling stain under bathroom above, inspect for leak",
		"Carpet replacement after flooding",
		"Electrical outlet sparking by the desk",
	}
	roomJobs = []string{
		"TV remote not pairing",
		"Loose towel bar in bathroom",
		"Minibar fridge noisy",
		"Slow drain in bathtub",
		"Bedside lamp flickering",
		"Safe will not open, guest locked out",
		"Blackout curtain off its track",
	}
	propertyJobs = []string{
		"Lobby revolving door sticking",
		"Ice machine leaking",
		"Elevator B annual inspection due",
		"Parking gate arm not lifting",
		"Kitchen exhaust fan vibration",
		"Gym treadmill belt slipping",
	}
)

// lockRoom is the occupied room whose door lock fails at the property with
// the critical alert; maintenance and notification name the same room.
func (sn *Snapshot) lockRoom() *room {
	in := sn.day(sn.Today).inHouse
	if len(in) == 0 {
		return sn.h.rooms[0]
	}
	slices.SortFunc(in, byRoom)
	return in[rngOf(sn.h.prop.ID, "lock", sn.Today).IntN(len(in))].room
}

// lockAlertMinutes is how long ago the lock failure was raised.
const lockAlertMinutes = 12

var priorityRank = map[string]int{PriorityUrgent: 0, PriorityHigh: 1, PriorityNormal: 2, PriorityLow: 3}

// MaintenanceBoard is maintenance-service's board now: a work order for
// every out-of-order room of the housekeeping board, the failing lock of the
// critical alert, and the usual small jobs.
func (sn *Snapshot) MaintenanceBoard() MaintenanceBoardDoc {
	h := sn.h
	rng := rngOf(h.prop.ID, "maintenance", sn.Today)
	var doc MaintenanceBoardDoc
	add := func(room, title, priority, status string, ago int) {
		at := sn.minutesAgo(ago)
		wo := WorkOrderDoc{
			ID: "wo_" + ulidAt(at.Time, rng), RoomNumber: room, Title: title,
			Priority: priority, Status: status, ReportedAt: at,
		}
		if status != WorkOpen {
			wo.Assignee = pick(rng, h.technicians)
		}
		doc.WorkOrders = append(doc.WorkOrders, wo)
	}
	for _, r := range sn.day(sn.Today).ooo {
		p, st := PriorityHigh, WorkInProgress
		if rng.IntN(3) == 0 {
			p = PriorityUrgent
		}
		if rng.IntN(3) == 0 {
			st = WorkOnHold // waiting for parts
		}
		add(r.number, pick(rng, outOfOrderJobs), p, st, 180+rng.IntN(30*60))
	}
	if h.critical {
		add(sn.lockRoom().number, "Door lock not responding, battery failure reported", PriorityUrgent, WorkOpen, lockAlertMinutes)
	}
	for i := range 4 + rng.IntN(4) {
		room, title := "", pick(rng, propertyJobs)
		if i%3 != 2 {
			room, title = h.rooms[rng.IntN(len(h.rooms))].number, pick(rng, roomJobs)
		}
		p := []string{PriorityLow, PriorityNormal, PriorityNormal, PriorityHigh}[rng.IntN(4)]
		st := []string{WorkOpen, WorkOpen, WorkInProgress, WorkOnHold, WorkDone}[rng.IntN(5)]
		add(room, title, p, st, 20+rng.IntN(3*24*60))
	}
	slices.SortStableFunc(doc.WorkOrders, func(a, b WorkOrderDoc) int {
		return cmp.Or(cmp.Compare(priorityRank[a.Priority], priorityRank[b.Priority]), b.ReportedAt.Compare(a.ReportedAt.Time))
	})
	for _, wo := range doc.WorkOrders {
		switch wo.Status {
		case WorkOpen:
			doc.Summary.Open++
		case WorkInProgress:
			doc.Summary.InProgress++
		}
		if wo.Priority == PriorityUrgent && wo.Status != WorkDone {
			doc.Summary.Urgent++
		}
	}
	return doc
}
