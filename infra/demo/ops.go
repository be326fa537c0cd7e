package demo

// The operational side of the demo world: rooms, stays, boards, revenue,
// AI suggestions, alerts and device sync, as the fake upstream services
// serve them (docs/UPSTREAMS.md). Everything is generated here, in one
// place, so the fakes agree with each other:
//
//   - stays are a pure function of (property, room, date): each room's
//     timeline is cut into 7-day blocks (phase-shifted per room) and each
//     block is filled from a seed of (property, room, block), so any date
//     can be generated alone and yesterday's in-house guest is still in
//     the same room today;
//   - what a stay's status is, who is in house, which rooms are dirty and
//     the revenue follow from those stays and one Snapshot (the property's
//     business date and an anchor instant), so today's arrivals.expected
//     is the length of the arrivals list, inHouse the length of the
//     in-house list and the number of occupied rooms on both boards and in
//     revenue's occupancy;
//   - instants that are relative to "now" (last seen, raised, expires, the
//     time of day that decides who has checked in) use the anchor, which is
//     now truncated to Quantum: the same request gives the same answer
//     within a quantum, and exactly the same answer under a fixed clock.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Quantum is the step in which the generated "now" moves.
const Quantum = 5 * time.Minute

// Errors of Ops.Snapshot, for the fakes' 404s.
var (
	ErrTenantNotFound   = errors.New("demo: tenant not found")
	ErrPropertyNotFound = errors.New("demo: property not found")
)

// Date is a civil date, as days since 1970-01-01.
type Date int

// Dates the generator serves; ids carry instants and must stay after 1970.
var (
	MinDate = DateOf(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	MaxDate = DateOf(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC))
)

// DateOf is the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDate reads "YYYY-MM-DD" (canonical form only) within [MinDate, MaxDate].
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	d := DateOf(t)
	if d < MinDate || d > MaxDate {
		return 0, fmt.Errorf("date %s is out of range", s)
	}
	return d, nil
}

func (d Date) utc() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d Date) String() string { return d.utc().Format(time.DateOnly) }

// Weekday of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// at is the instant of minute-of-day min on d in loc.
func (d Date) at(loc *time.Location, min int) time.Time {
	y, m, dd := d.utc().Date()
	return time.Date(y, m, dd, 0, min, 0, 0, loc)
}

// firstOfMonth is the first day of d's month.
func (d Date) firstOfMonth() Date {
	y, m, _ := d.utc().Date()
	return DateOf(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
}

// seed hashes parts into a 64-bit seed; every random choice of the world
// comes from a generator seeded this way, never from global randomness.
func seed(parts ...any) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			h.Write([]byte(v))
		case int:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		case Date:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		case uint64:
			binary.LittleEndian.PutUint64(b[:], v)
			h.Write(b[:])
		default:
			fmt.Fprint(h, v)
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func rngOf(parts ...any) *rand.Rand {
	s := seed(parts...)
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// ulidAt renders a ULID with time part t and entropy from r, the way
// ids.New does but reproducibly.
func ulidAt(t time.Time, r *rand.Rand) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	binary.BigEndian.PutUint64(b[0:8], ms<<16)
	binary.BigEndian.PutUint16(b[6:8], uint16(r.Uint32()))
	binary.BigEndian.PutUint64(b[8:16], r.Uint64())
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	out := make([]byte, 26)
	// 26 base-32 digits hold 130 bits: the 128 of the ULID after two zero
	// bits, most significant first.
	for i := range out {
		v := 0
		for j := range 5 {
			bit := i*5 + j - 2
			if bit >= 0 && b[bit/8]&(0x80>>(bit%8)) != 0 {
				v |= 1 << (4 - j)
			}
		}
		out[i] = alphabet[v]
	}
	return string(out)
}

// Ops generates the operational data of the demo properties. Safe for
// concurrent use: it holds only the dataset, the clock and layouts built
// once.
type Ops struct {
	ds     *Dataset
	now    func() time.Time
	hotels map[string]*hotel // by tenantID+"/"+propertyID
}

// NewOps serves ds as of now (time.Now when nil). A fixed clock makes every
// answer reproducible.
func NewOps(ds *Dataset, now func() time.Time) *Ops {
	if now == nil {
		now = time.Now
	}
	o := &Ops{ds: ds, now: now, hotels: map[string]*hotel{}}
	for ti := range ds.Tenants {
		t := &ds.Tenants[ti]
		for pi := range t.Properties {
			o.hotels[t.ID+"/"+t.Properties[pi].ID] = newHotel(ds, t, &t.Properties[pi])
		}
	}
	return o
}

// Dataset is the dataset served.
func (o *Ops) Dataset() *Dataset { return o.ds }

// Now is the generator's clock.
func (o *Ops) Now() time.Time { return o.now() }

// Snapshot is the state of one property at one anchor instant.
type Snapshot struct {
	Tenant   *Tenant
	Property *Property
	// Today is the business date at the property (its local date at Anchor).
	Today Date
	// Anchor is now, truncated to Quantum.
	Anchor time.Time

	h   *hotel
	tod int // minutes since local midnight at Anchor
}

// Snapshot returns the state of (tenantID, propertyID) now; the errors
// match ErrTenantNotFound or ErrPropertyNotFound.
func (o *Ops) Snapshot(tenantID, propertyID string) (*Snapshot, error) {
	return o.SnapshotAt(tenantID, propertyID, o.now())
}

// SnapshotAt is Snapshot at instant now.
func (o *Ops) SnapshotAt(tenantID, propertyID string, now time.Time) (*Snapshot, error) {
	h, ok := o.hotels[tenantID+"/"+propertyID]
	if !ok {
		if _, known := o.ds.Tenant(tenantID); !known {
			return nil, fmt.Errorf("%w: %s", ErrTenantNotFound, tenantID)
		}
		return nil, fmt.Errorf("%w: %s in tenant %s", ErrPropertyNotFound, propertyID, tenantID)
	}
	anchor := now.UTC().Truncate(Quantum)
	local := anchor.In(h.loc)
	return &Snapshot{
		Tenant: h.tenant, Property: h.prop,
		Today: DateOf(local), Anchor: anchor,
		h: h, tod: local.Hour()*60 + local.Minute(),
	}, nil
}

// Currency is the ISO 4217 code the property bills in. The dataset has no
// currency field; the demo hotels are Canadian and Portuguese, so it follows
// the time zone.
func (p *Property) Currency() string {
	switch {
	case strings.HasPrefix(p.Timezone, "America/") && canadianZones[p.Timezone]:
		return "CAD"
	case strings.HasPrefix(p.Timezone, "Europe/") && p.Timezone != "Europe/London":
		return "EUR"
	case p.Timezone == "Europe/London":
		return "GBP"
	default:
		return "USD"
	}
}

var canadianZones = map[string]bool{
	"America/Halifax": true, "America/Toronto": true, "America/Montreal": true, "America/Vancouver": true,
	"America/Edmonton": true, "America/Winnipeg": true, "America/Regina": true, "America/St_Johns": true,
	"America/Moncton": true,
}

// room is one sellable room.
type room struct {
	number string
	floor  int
	typ    roomType
	phase  int // offset of its 7-day blocks
}

type roomType struct {
	name string
	rate int64 // base nightly rate, minor units
	kids bool  // sleeps a family
}

// hotel is what never changes about a property: rooms and staff.
type hotel struct {
	tenant      *Tenant
	prop        *Property
	loc         *time.Location
	currency    string
	names       nameMix
	rooms       []*room
	byNumber    map[string]*room
	attendants  []string
	technicians []string
	devices     []deviceInfo
	critical    bool // the one property with a critical alert

	blocks  sync.Map // blockKey → []stay
	nblocks atomic.Int64
}

type deviceInfo struct {
	id       string
	operator string // "" for a shared terminal
}

func newHotel(ds *Dataset, t *Tenant, p *Property) *hotel {
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		loc = time.UTC // Validate refuses such a dataset; never reached
	}
	h := &hotel{tenant: t, prop: p, loc: loc, currency: p.Currency(), names: mixFor(p), byNumber: map[string]*room{}}
	h.critical = len(ds.Tenants) > 0 && len(ds.Tenants[0].Properties) > 0 && ds.Tenants[0].Properties[0].ID == p.ID

	r := rngOf(p.ID, "layout")
	floors := 3 + r.IntN(5)   // 3–7 floors of rooms
	perFloor := 8 + r.IntN(8) // 8–15 rooms each
	types := roomTypesFor(h.currency, r)
	for f := 2; f < 2+floors; f++ { // the ground floor is lobby and restaurant
		for i := 1; i <= perFloor; i++ {
			rt := types.standard[i%2]
			switch {
			case f == 1+floors && i <= 2:
				rt = types.suite
			case i == 1 || i == perFloor:
				rt = types.junior
			case f == 2 && i == 3:
				rt = types.accessible
			}
			rm := &room{number: fmt.Sprintf("%d%02d", f, i), floor: f, typ: rt, phase: int(seed(p.ID, "phase", f, i) % blockLen)}
			h.rooms = append(h.rooms, rm)
			h.byNumber[rm.number] = rm
		}
	}
	sr := rngOf(p.ID, "staff")
	for range 3 + floors/2 {
		h.attendants = append(h.attendants, h.names.person(sr))
	}
	for range 2 {
		h.technicians = append(h.technicians, h.names.person(sr))
	}
	for _, op := range t.Operators {
		home := op.PrimaryPropertyID
		if home == "" && len(op.PropertyScope) > 0 {
			home = op.PropertyScope[0]
		}
		if home != p.ID {
			continue
		}
		for _, d := range op.Devices {
			h.devices = append(h.devices, deviceInfo{id: d.ID, operator: op.ID})
		}
	}
	tr := rngOf(p.ID, "terminals")
	for range 2 {
		h.devices = append(h.devices, deviceInfo{id: "dev_" + ulidAt(time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC), tr)})
	}
	return h
}

type roomTypes struct {
	standard      [2]roomType
	junior, suite roomType
	accessible    roomType
}

func roomTypesFor(currency string, r *rand.Rand) roomTypes {
	base := int64(17900 + 1000*r.IntN(8)) // 179–249 a night
	if currency == "EUR" {
		base = int64(13900 + 1000*r.IntN(6))
	}
	return roomTypes{
		standard:   [2]roomType{{name: "Queen Double", rate: base, kids: true}, {name: "King", rate: base + 2000}},
		junior:     roomType{name: "Junior Suite", rate: base + 9000, kids: true},
		suite:      roomType{name: "Signature Suite", rate: base*2 + 8000, kids: true},
		accessible: roomType{name: "Accessible King", rate: base + 2000},
	}
}

// money renders minor units of the hotel's currency.
func (h *hotel) money(minor int64) Money {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return Money{Amount: fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100), Currency: h.currency}
}
