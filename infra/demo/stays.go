package demo

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// blockLen is the length of a room's blocks; a stay never crosses one, so
// the stays touching a date come from at most two blocks per room.
const blockLen = 7

// stay is one reservation's stay, with everything its status depends on.
type stay struct {
	room     *room
	arr, dep Date // arrival and departure dates; nights = dep - arr
	seed     uint64

	noShow   bool
	eta      int // minutes after local midnight on the arrival date
	checkout int // minutes after local midnight on the departure date
	rate     int64
	prepaid  bool
	vip      bool
	assigned bool // room shown before check-in
}

type blockKey struct {
	room *room
	k    int
}

// maxCachedBlocks bounds the block cache: a year of dates for a few
// hundred rooms; past it the cache starts over.
const maxCachedBlocks = 1 << 16

// block returns the stays of room r in block k, in date order. Blocks never
// change, so they are cached: a month-to-date revenue walks every room's
// blocks of the month. Callers must not modify the result.
func (h *hotel) block(r *room, k int) []stay {
	key := blockKey{r, k}
	if v, ok := h.blocks.Load(key); ok {
		return v.([]stay)
	}
	out := h.makeBlock(r, k)
	if h.nblocks.Add(1) > maxCachedBlocks {
		h.blocks.Clear()
		h.nblocks.Store(0)
	}
	h.blocks.Store(key, out)
	return out
}

func (h *hotel) makeBlock(r *room, k int) []stay {
	start := Date(k*blockLen + r.phase)
	rng := rngOf(h.prop.ID, "block", r.number, k)
	var out []stay
	for pos := start; pos < start+blockLen; {
		vacancy := 0.4
		if wd := pos.Weekday(); wd == time.Friday || wd == time.Saturday {
			vacancy = 0.18
		}
		if rng.Float64() < vacancy {
			pos++
			continue
		}
		left := int(start + blockLen - pos)
		n := 1 + min(rng.IntN(5), rng.IntN(6)) // 1–5 nights, mostly short
		n = min(n, left)
		s := stay{room: r, arr: pos, dep: pos + Date(n), seed: rng.Uint64()}
		a := rand.New(rand.NewPCG(s.seed, 1))
		s.noShow = a.Float64() < 0.04
		s.eta = 14*60 + 30*a.IntN(19)          // 14:00–23:00
		s.checkout = 6*60 + 30 + 30*a.IntN(12) // 06:30–12:00
		s.rate = r.typ.rate
		if wd := pos.Weekday(); wd == time.Friday || wd == time.Saturday {
			s.rate = s.rate * 115 / 100
		}
		s.rate = s.rate * int64(92+a.IntN(17)) / 100 / 100 * 100 // whole currency units
		s.prepaid = a.Float64() < 0.45
		s.vip = a.Float64() < 0.07
		s.assigned = a.Float64() < 0.7
		out = append(out, s)
		pos += Date(n)
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// staysTouching returns the stays with arr <= d <= dep, room by room in
// room order. A stay departing on d lies in the block of d-1, one arriving
// on d in the block of d; they are the same block except at a boundary.
func (h *hotel) staysTouching(d Date) []stay {
	var out []stay
	for _, r := range h.rooms {
		kPrev := floorDiv(int(d-1)-r.phase, blockLen)
		kCur := floorDiv(int(d)-r.phase, blockLen)
		for k := kPrev; k <= kCur; k++ {
			for _, s := range h.block(r, k) {
				if s.arr <= d && d <= s.dep {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// status is the stay's status as of the snapshot: the business date and
// the time of day decide who has checked in or out.
func (sn *Snapshot) status(s stay) string {
	t, tod := sn.Today, sn.tod
	if s.noShow && (s.arr < t || (s.arr == t && tod >= s.eta+240)) {
		return StayNoShow
	}
	if s.arr > t || (s.arr == t && tod < s.eta) {
		return StayExpected
	}
	if s.dep < t || (s.dep == t && tod >= s.checkout) {
		return StayCheckedOut
	}
	return StayCheckedIn
}

// day is every stay touching a date, classified once.
type day struct {
	date       Date
	arrivals   []stay
	departures []stay
	inHouse    []stay
	tonight    int // rooms sold for the night of date (no-shows released)
	ooo        []*room
}

func (sn *Snapshot) day(d Date) *day {
	h := sn.h
	dy := &day{date: d}
	touching := h.staysTouching(d)
	busy := map[*room]bool{}
	for _, s := range touching {
		busy[s.room] = true
		st := sn.status(s)
		if s.arr == d {
			dy.arrivals = append(dy.arrivals, s)
		}
		if s.dep == d {
			dy.departures = append(dy.departures, s)
		}
		covers := s.arr <= d && d < s.dep
		if covers && st != StayNoShow {
			dy.tonight++
		}
		// Today, in house means checked in right now (a departing guest who
		// has not checked out is still here); any other day, it means the
		// night was sold to a guest who came.
		if d == sn.Today && st == StayCheckedIn || d != sn.Today && covers && st != StayNoShow {
			dy.inHouse = append(dy.inHouse, s)
		}
	}
	// Out-of-order rooms are picked among rooms nobody touches that day, so
	// no guest is ever in one.
	var free []*room
	for _, r := range h.rooms {
		if !busy[r] {
			free = append(free, r)
		}
	}
	rng := rngOf(h.prop.ID, "ooo", d)
	rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	n := min(1+rng.IntN(3), len(free)/2)
	dy.ooo = free[:n]
	slices.SortFunc(dy.ooo, func(a, b *room) int { return strings.Compare(a.number, b.number) })
	return dy
}

// details are the parts of a stay only its document needs.
type details struct {
	reservationID, folioID, guest, notes string
	adults, children                     int
	incidentals                          int64
}

func (h *hotel) details(s stay) details {
	a := rngOf(s.seed, "details")
	booked := s.arr.at(h.loc, 0).Add(-time.Duration(3+a.IntN(90)) * 24 * time.Hour).Add(time.Duration(a.IntN(86400)) * time.Second)
	d := details{
		reservationID: "rsv_" + ulidAt(booked, a),
		folioID:       "fol_" + ulidAt(s.arr.at(h.loc, s.eta), a),
		guest:         h.names.person(a),
		adults:        1 + a.IntN(2),
		incidentals:   int64(a.IntN(18000)),
	}
	if s.room.typ.kids && a.Float64() < 0.35 {
		d.children = 1 + a.IntN(2)
	}
	if a.Float64() < 0.25 {
		d.notes = pick(a, stayNotes)
	}
	return d
}

func (sn *Snapshot) stayDoc(s stay) StayDoc {
	h := sn.h
	d := h.details(s)
	st := sn.status(s)
	nights := int(s.dep - s.arr)
	doc := StayDoc{
		ReservationID: d.reservationID,
		GuestName:     d.guest,
		RoomType:      s.room.typ.name,
		Status:        st,
		ArrivalDate:   s.arr.String(),
		DepartureDate: s.dep.String(),
		Nights:        nights,
		Adults:        d.adults,
		Children:      d.children,
		VIP:           s.vip,
		Notes:         d.notes,
	}
	var balance int64
	switch st {
	case StayExpected:
		if !s.prepaid {
			balance = s.rate * int64(nights)
		}
		doc.ETA = jsontime.Of(s.arr.at(h.loc, s.eta))
		if s.assigned || s.vip {
			doc.RoomNumber = s.room.number
		}
	case StayCheckedIn:
		balance = d.incidentals
		if !s.prepaid {
			balance += s.rate * int64(nights)
		}
		doc.RoomNumber, doc.FolioID = s.room.number, d.folioID
	case StayCheckedOut:
		doc.RoomNumber, doc.FolioID = s.room.number, d.folioID
	case StayNoShow:
		if !s.prepaid {
			balance = s.rate // one night's no-show fee
		}
	}
	doc.BalanceDue = h.money(balance)
	return doc
}

func (sn *Snapshot) staysDoc(date string, ss []stay, order func(a, b stay) int) StaysDoc {
	ss = slices.Clone(ss)
	slices.SortStableFunc(ss, order)
	out := StaysDoc{Date: date, Items: make([]StayDoc, 0, len(ss))}
	for _, s := range ss {
		out.Items = append(out.Items, sn.stayDoc(s))
	}
	return out
}

// Orders of the lists, as a front desk reads them.
func byETA(a, b stay) int {
	return cmp.Or(cmp.Compare(a.eta, b.eta), strings.Compare(a.room.number, b.room.number))
}
func byCheckout(a, b stay) int {
	return cmp.Or(cmp.Compare(a.checkout, b.checkout), strings.Compare(a.room.number, b.room.number))
}
func byRoom(a, b stay) int { return strings.Compare(a.room.number, b.room.number) }

// TodaySummary is reservation-service's summary of date d.
func (sn *Snapshot) TodaySummary(d Date) TodayDoc {
	dy := sn.day(d)
	var doc TodayDoc
	doc.Date = d.String()
	doc.Arrivals.Expected = len(dy.arrivals)
	for _, s := range dy.arrivals {
		switch sn.status(s) {
		case StayCheckedIn, StayCheckedOut:
			doc.Arrivals.CheckedIn++
		case StayNoShow:
			doc.NoShows++
		}
	}
	doc.Departures.Expected = len(dy.departures)
	for _, s := range dy.departures {
		if sn.status(s) == StayCheckedOut {
			doc.Departures.CheckedOut++
		}
	}
	doc.InHouse = len(dy.inHouse)
	doc.RoomsTotal = len(sn.h.rooms)
	doc.RoomsAvailable = max(0, doc.RoomsTotal-len(dy.ooo)-dy.tonight)
	return doc
}

// Arrivals are the stays arriving on d.
func (sn *Snapshot) Arrivals(d Date) StaysDoc {
	return sn.staysDoc(d.String(), sn.day(d).arrivals, byETA)
}

// Departures are the stays departing on d.
func (sn *Snapshot) Departures(d Date) StaysDoc {
	return sn.staysDoc(d.String(), sn.day(d).departures, byCheckout)
}

// InHouse are the guests checked in now.
func (sn *Snapshot) InHouse() StaysDoc {
	return sn.staysDoc("", sn.day(sn.Today).inHouse, byRoom)
}

// roomRevenue is the room revenue of the night of d, minor units.
func (sn *Snapshot) roomRevenue(dy *day) int64 {
	var sum int64
	for _, s := range dy.inHouse {
		sum += s.rate
	}
	return sum
}

func (sn *Snapshot) otherRevenue(d Date, room int64) int64 {
	pct := 12 + rngOf(sn.h.prop.ID, "other", d).IntN(13) // F&B, parking, spa: 12–24 % of rooms
	return room * int64(pct) / 100
}

// Occupancy is revenue-service's occupancy of d; roomsOccupied is the same
// in-house count reservation-service reports.
func (sn *Snapshot) Occupancy(d Date) OccupancyDoc {
	dy := sn.day(d)
	total, occ := len(sn.h.rooms), len(dy.inHouse)
	rev := sn.roomRevenue(dy)
	doc := OccupancyDoc{Date: d.String(), RoomsTotal: total, RoomsOccupied: occ}
	if total > 0 {
		doc.OccupancyPct = math.Round(float64(occ)*1000/float64(total)) / 10
		doc.RevPAR = sn.h.money(divRound(rev, int64(total)))
	} else {
		doc.RevPAR = sn.h.money(0)
	}
	if occ > 0 {
		doc.ADR = sn.h.money(divRound(rev, int64(occ)))
	} else {
		doc.ADR = sn.h.money(0)
	}
	return doc
}

// Revenue is revenue-service's revenue of d and of its month up to d.
func (sn *Snapshot) Revenue(d Date) RevenueDoc {
	var room, other, mtd int64
	for x := d.firstOfMonth(); x <= d; x++ {
		r := sn.roomRevenue(sn.day(x))
		o := sn.otherRevenue(x, r)
		mtd += r + o
		room, other = r, o
	}
	return RevenueDoc{Date: d.String(), RoomRevenue: sn.h.money(room), OtherRevenue: sn.h.money(other), MonthToDate: sn.h.money(mtd)}
}

func divRound(a, b int64) int64 { return (a + b/2) / b }
