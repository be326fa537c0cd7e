package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// AI suggestion categories and severities, as ai-orchestrator-service
// sends them.
const (
	SuggestOverbooking   = "overbooking_warning"
	SuggestRateChange    = "rate_change"
	SuggestHousekeeping  = "housekeeping_reorder"
	SuggestMaintenance   = "maintenance_priority"
	SuggestGuestHandling = "guest_special_handling"
	SuggestStaffing      = "staffing"
	SuggestAuditAnomaly  = "audit_anomaly"
	SuggestOther         = "other"

	SeverityInfo           = "info"
	SeverityAttention      = "attention"
	SeverityActionRequired = "action_required"
)

// Alert severities, as notification-service sends them; categories are
// written inline.
const (
	AlertInfo     = "info"
	AlertWarning  = "warning"
	AlertCritical = "critical"
)

type suggestionDraft struct {
	category, severity, title, body string
	proposal                        map[string]any
	provenance                      bool
	// minutes relative to the anchor; an open suggestion expires after it
	createdAgo, expiresIn int
	open                  bool
}

// Suggestions is ai-orchestrator-service's inbox now. Open ones (all, when
// all is set, also the expired and decided ones) are built from the same
// snapshot as the other services: the VIP is a real arrival, the rooms to
// prioritise are dirty on the housekeeping board, the work order exists.
// About one in three has no provenance, which the BFF must not show; the
// first one expires 17–22 minutes from now.
func (sn *Snapshot) Suggestions(all bool) SuggestionsDoc {
	h := sn.h
	rng := rngOf(h.prop.ID, "suggestions", sn.Today)
	var drafts []suggestionDraft
	cur := func(minor int64) map[string]any {
		m := h.money(minor)
		return map[string]any{"amount": m.Amount, "currency": m.Currency}
	}

	arrivals := sn.day(sn.Today).arrivals
	slices.SortFunc(arrivals, byETA)
	for _, s := range arrivals {
		if s.vip && sn.status(s) == StayExpected {
			d := h.details(s)
			drafts = append(drafts, suggestionDraft{
				category: SuggestGuestHandling, severity: SeverityActionRequired,
				title:      "VIP arriving at " + s.arr.at(h.loc, s.eta).Format("15:04") + ": " + d.guest,
				body:       fmt.Sprintf("%s is booked in a %s for %d night(s). A Junior Suite is free tonight; an upgrade and a welcome amenity are recommended.", d.guest, s.room.typ.name, s.dep-s.arr),
				proposal:   map[string]any{"action": "upgrade", "reservationId": d.reservationID, "toRoomType": "Junior Suite"},
				provenance: true, createdAgo: 35, expiresIn: 22, open: true,
			})
			break
		}
	}

	board := sn.HousekeepingBoard()
	var urgentRooms []string
	for _, r := range board.Rooms {
		if r.Priority == PriorityHigh && r.Status == RoomDirty {
			urgentRooms = append(urgentRooms, r.RoomNumber)
		}
	}
	body := "These rooms are dirty and have guests arriving today; moving them to the top of the attendants' lists gets them ready before the afternoon wave."
	// Late in the local day no dirty room awaits an arrival; the demo
	// still offers a reorder (its tests and the role sweep need one at
	// every hour): the dirty rooms, else the first rooms of the board.
	if len(urgentRooms) == 0 {
		for _, r := range board.Rooms {
			if r.Status == RoomDirty {
				urgentRooms = append(urgentRooms, r.RoomNumber)
			}
		}
		body = "These rooms are dirty; cleaning them first frees them for tonight's late sales."
	}
	if len(urgentRooms) == 0 {
		for _, r := range board.Rooms {
			urgentRooms = append(urgentRooms, r.RoomNumber)
		}
		body = "An inspection round of these rooms first keeps them ready for tomorrow's arrivals."
	}
	if len(urgentRooms) > 3 {
		urgentRooms = urgentRooms[:3]
	}
	if len(urgentRooms) > 0 {
		drafts = append(drafts, suggestionDraft{
			category: SuggestHousekeeping, severity: SeverityAttention,
			title:      "Clean rooms " + strings.Join(urgentRooms, ", ") + " first",
			body:       body,
			proposal:   map[string]any{"action": "reorder", "rooms": urgentRooms},
			provenance: true, createdAgo: 18, expiresIn: 45, open: true,
		})
	}

	ahead := sn.TodaySummary(sn.Today + 2)
	if ahead.RoomsTotal > 0 {
		pct := 100 - ahead.RoomsAvailable*100/ahead.RoomsTotal
		sev, cat := SeverityInfo, SuggestRateChange
		if pct >= 90 {
			sev, cat = SeverityAttention, SuggestOverbooking
		}
		base := h.rooms[0].typ.rate
		drafts = append(drafts, suggestionDraft{
			category: cat, severity: sev,
			title:      fmt.Sprintf("%s is %d%% booked: raise the Queen Double rate", (sn.Today + 2).Weekday(), pct),
			body:       fmt.Sprintf("%d of %d rooms are still available on %s; demand for the weekend is above last year's.", ahead.RoomsAvailable, ahead.RoomsTotal, (sn.Today + 2).String()),
			proposal:   map[string]any{"action": "set_rate", "roomType": "Queen Double", "date": (sn.Today + 2).String(), "from": cur(base), "to": cur(base + 2000)},
			provenance: rng.IntN(2) == 0, createdAgo: 95, expiresIn: 5 * 60, open: true,
		})
	}

	for _, wo := range sn.MaintenanceBoard().WorkOrders {
		if wo.RoomNumber != "" && wo.Status == WorkOpen {
			drafts = append(drafts, suggestionDraft{
				category: SuggestMaintenance, severity: SeverityAttention,
				title:      "Fix room " + wo.RoomNumber + " before it is sold: " + wo.Title,
				proposal:   map[string]any{"action": "raise_priority", "workOrderId": wo.ID, "to": PriorityHigh},
				provenance: false, createdAgo: 50, expiresIn: 3 * 60, open: true,
			})
			break
		}
	}

	today := sn.TodaySummary(sn.Today)
	drafts = append(drafts, suggestionDraft{
		category: SuggestStaffing, severity: SeverityInfo,
		title:      fmt.Sprintf("%d departures today: add an attendant from 11:00 to 15:00", today.Departures.Expected),
		body:       fmt.Sprintf("%d check-outs and %d arrivals; the current roster cleans about %d rooms before 15:00.", today.Departures.Expected, today.Arrivals.Expected, len(h.attendants)*12),
		provenance: true, createdAgo: 240, expiresIn: 8 * 60, open: true,
	})

	for _, s := range sn.day(sn.Today).inHouse {
		if !s.prepaid && rng.IntN(3) == 0 {
			d := h.details(s)
			drafts = append(drafts, suggestionDraft{
				category: SuggestAuditAnomaly, severity: SeverityActionRequired,
				title:      "Room " + s.room.number + ": folio charged below the rate plan",
				body:       "The nightly charge posted last night is lower than the booked rate; check for a manual override.",
				proposal:   map[string]any{"action": "review_folio", "folioId": d.folioID, "expected": cur(s.rate)},
				provenance: true, createdAgo: 300, expiresIn: 26 * 60, open: true,
			})
			break
		}
	}

	drafts = append(drafts,
		suggestionDraft{
			category: SuggestOther, severity: SeverityInfo,
			title:      "Local event tonight: expect late arrivals",
			body:       "A concert downtown ends at 23:00; consider keeping the night desk staffed until 01:00.",
			provenance: false, createdAgo: 600, expiresIn: 10 * 60, open: true,
		},
		// Closed: what status=all adds.
		suggestionDraft{
			category: SuggestRateChange, severity: SeverityAttention,
			title: "Lower the King rate for tonight", provenance: true, createdAgo: 8 * 60, expiresIn: -40,
		},
		suggestionDraft{
			category: SuggestGuestHandling, severity: SeverityInfo,
			title: "Offer late check-out to the guest in room " + h.rooms[len(h.rooms)/2].number, provenance: true, createdAgo: 5 * 60, expiresIn: 3 * 60,
		},
	)

	// Something is always about to expire, whatever today's data offers.
	drafts[0].expiresIn = min(drafts[0].expiresIn, 22)

	doc := SuggestionsDoc{Items: []SuggestionDoc{}}
	for i, d := range drafts {
		if !d.open && !all {
			continue
		}
		created := sn.Anchor.Add(-time.Duration(d.createdAgo) * time.Minute)
		s := SuggestionDoc{
			SuggestionID: "sug_" + ulidAt(created, rngOf(h.prop.ID, "suggestion", sn.Today, i)),
			PropertyID:   h.prop.ID,
			Category:     d.category, Severity: d.severity,
			CreatedAt: jsontime.Of(created),
			ExpiresAt: jsontime.Of(sn.Anchor.Add(time.Duration(d.expiresIn) * time.Minute)),
			Title:     d.title, Body: d.body, Proposal: d.proposal,
		}
		if d.provenance {
			s.Provenance = provenanceFor(d.category, s.SuggestionID)
		}
		doc.Items = append(doc.Items, s)
	}
	return doc
}

func provenanceFor(category, id string) *ProvenanceDoc {
	sum := sha256.Sum256([]byte(category + "|" + id))
	p := &ProvenanceDoc{
		Model: "mm-ops-assistant", ModelVersion: "2026.10.2", PromptVersion: category + "@4",
		ModelClass: "cloud", SignatureFingerprint: "sha256:" + hex.EncodeToString(sum[:16]),
	}
	if category == SuggestHousekeeping || category == SuggestStaffing {
		p.Model, p.ModelVersion, p.ModelClass = "mm-edge-ranker", "1.8.0", "edge"
	}
	return p
}

// SuggestionSummary counts the open suggestions, with or without
// provenance: the upstream does not know the BFF's display rule.
func (sn *Snapshot) SuggestionSummary() SuggestionSummaryDoc {
	var doc SuggestionSummaryDoc
	for _, s := range sn.Suggestions(false).Items {
		doc.Open++
		if s.Severity == SeverityActionRequired {
			doc.ActionRequired++
		}
	}
	return doc
}

// device states as sync-service classifies them.
const (
	deviceOnline  = "online"
	deviceLagging = "lagging"
	deviceOffline = "offline"
)

type deviceState struct {
	info    deviceInfo
	state   string
	doc     DeviceStatusDoc
	seenAgo int // seconds before the anchor
}

// devices classifies the property's desktops now: operators' devices whose
// home is this property and two shared front-desk terminals, with at least
// one lagging and one offline so the widget has something to say.
func (sn *Snapshot) devices() []deviceState {
	h := sn.h
	out := make([]deviceState, len(h.devices))
	for i, d := range h.devices {
		rng := rngOf(h.prop.ID, "device", d.id, sn.Today)
		st := deviceOnline
		switch n := rng.IntN(100); {
		case n >= 85:
			st = deviceOffline
		case n >= 65:
			st = deviceLagging
		}
		out[i] = deviceState{info: d, state: st}
	}
	// Force a state onto the last online device, so forcing one state never
	// takes away another.
	ensure := func(st string) {
		if slices.ContainsFunc(out, func(d deviceState) bool { return d.state == st }) {
			return
		}
		for i := len(out) - 1; i > 0; i-- { // keep at least the first online
			if out[i].state == deviceOnline {
				out[i].state = st
				return
			}
		}
	}
	ensure(deviceOffline)
	ensure(deviceLagging)
	for i := range out {
		d := &out[i]
		rng := rngOf(h.prop.ID, "device-detail", d.info.id, sn.Today)
		doc := DeviceStatusDoc{DeviceID: d.info.id}
		switch d.state {
		case deviceOnline:
			d.seenAgo = 5 + rng.IntN(50)
			doc.PendingPush, doc.LagSeconds = rng.IntN(3), rng.IntN(6)
		case deviceLagging:
			d.seenAgo = 60 + rng.IntN(180)
			doc.PendingPush, doc.LagSeconds = 3+rng.IntN(38), 120+rng.IntN(780)
		case deviceOffline:
			d.seenAgo = 2*3600 + rng.IntN(20*3600)
			doc.PendingPush, doc.LagSeconds = rng.IntN(13), d.seenAgo
		}
		doc.LastSeenAt = jsontime.Of(sn.Anchor.Add(-time.Duration(d.seenAgo) * time.Second))
		d.doc = doc
	}
	return out
}

// Devices is sync-service's device status now.
func (sn *Snapshot) Devices() DevicesDoc {
	doc := DevicesDoc{Devices: []DeviceStatusDoc{}}
	for _, d := range sn.devices() {
		doc.Devices = append(doc.Devices, d.doc)
		switch d.state {
		case deviceOnline:
			doc.Summary.Online++
		case deviceLagging:
			doc.Summary.Lagging++
		case deviceOffline:
			doc.Summary.Offline++
		}
	}
	return doc
}

type alertDraft struct {
	severity, category string
	payload            map[string]any
	raisedAgo          int // minutes
	resolvedAgo        int // minutes; 0 = open
}

// Alerts is notification-service's alerts now (all: also resolved ones).
// They point at what the other services show: the offline and lagging
// devices of sync-service, a no-show or an in-house guest of
// reservation-service, and — at the one property with a critical alert —
// the failing lock of maintenance-service's urgent work order.
func (sn *Snapshot) Alerts(all bool) AlertsDoc {
	h := sn.h
	rng := rngOf(h.prop.ID, "alerts", sn.Today)
	var drafts []alertDraft
	if h.critical {
		drafts = append(drafts, alertDraft{
			severity: AlertCritical, category: "lock_failed", raisedAgo: lockAlertMinutes,
			payload: map[string]any{"roomNumber": sn.lockRoom().number, "failures": 3, "lastError": "battery_low", "message": "Door lock rejected 3 valid keys in 10 minutes"},
		})
	}
	for _, d := range sn.devices() {
		switch d.state {
		case deviceOffline:
			drafts = append(drafts, alertDraft{
				severity: AlertWarning, category: "device_offline", raisedAgo: d.seenAgo/60 - 5,
				payload: map[string]any{"deviceId": d.info.id, "lastSeenAt": d.doc.LastSeenAt},
			})
		case deviceLagging:
			if rng.IntN(2) == 0 {
				drafts = append(drafts, alertDraft{
					severity: AlertInfo, category: "sync_lag", raisedAgo: 1,
					payload: map[string]any{"deviceId": d.info.id, "lagSeconds": d.doc.LagSeconds, "pendingPush": d.doc.PendingPush},
				})
			}
		}
	}
	dy := sn.day(sn.Today)
	for _, s := range sn.day(sn.Today - 1).arrivals {
		if sn.status(s) == StayNoShow {
			drafts = append(drafts, alertDraft{
				severity: AlertWarning, category: "no_show", raisedAgo: 8*60 + rng.IntN(60),
				payload: map[string]any{"reservationId": h.details(s).reservationID, "arrivalDate": s.arr.String()},
			})
			break
		}
	}
	for _, s := range dy.inHouse {
		if !s.prepaid && rng.IntN(4) == 0 {
			d := h.details(s)
			m := h.money(s.rate)
			drafts = append(drafts, alertDraft{
				severity: AlertWarning, category: "payment_failed", raisedAgo: 25 + rng.IntN(90),
				payload: map[string]any{"reservationId": d.reservationID, "folioId": d.folioID, "roomNumber": s.room.number,
					"amount": map[string]any{"amount": m.Amount, "currency": m.Currency}, "reason": "card_declined"},
			})
			break
		}
	}
	drafts = append(drafts,
		alertDraft{
			severity: AlertInfo, category: "other", raisedAgo: 180,
			payload: map[string]any{"message": "Fire alarm test scheduled for 10:00 tomorrow"},
		},
		alertDraft{
			severity: AlertWarning, category: "security", raisedAgo: 26 * 60, resolvedAgo: 25 * 60,
			payload: map[string]any{"message": "5 failed sign-ins from an unregistered device"},
		},
		alertDraft{
			severity: AlertInfo, category: "sync_lag", raisedAgo: 7 * 60, resolvedAgo: 6*60 + 40,
			payload: map[string]any{"deviceId": h.devices[0].id, "lagSeconds": 340},
		},
	)

	doc := AlertsDoc{Items: []AlertDoc{}}
	for i, d := range drafts {
		if d.resolvedAgo > 0 && !all {
			continue
		}
		raised := sn.Anchor.Add(-time.Duration(max(d.raisedAgo, 1)) * time.Minute)
		a := AlertDoc{
			AlertID:    "alr_" + ulidAt(raised, rngOf(h.prop.ID, "alert", sn.Today, i)),
			PropertyID: h.prop.ID, Severity: d.severity, Category: d.category,
			RaisedAt: jsontime.Of(raised), Payload: d.payload,
		}
		if d.resolvedAgo > 0 {
			a.ResolvedAt = sn.minutesAgo(d.resolvedAgo)
		}
		doc.Items = append(doc.Items, a)
	}
	return doc
}

// AlertSummary counts the open alerts.
func (sn *Snapshot) AlertSummary() AlertSummaryDoc {
	var doc AlertSummaryDoc
	for _, a := range sn.Alerts(false).Items {
		doc.Open++
		if a.Severity == AlertCritical {
			doc.Critical++
		}
	}
	return doc
}
