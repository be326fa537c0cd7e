package demo

import "github.com/melmastoon/bff-backoffice/shared/jsontime"

// The answers of the fake upstream services, exactly as docs/UPSTREAMS.md
// shapes them. They are the fakes' own types, not the BFF clients': the
// fakes play other teams' services.

// Money is an amount as a decimal string in a currency.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Stay statuses.
const (
	StayExpected   = "expected"
	StayCheckedIn  = "checked_in"
	StayCheckedOut = "checked_out"
	StayNoShow     = "no_show"
	StayCancelled  = "cancelled"
)

// TodayDoc is reservation-service's GET P/today.
type TodayDoc struct {
	Date     string `json:"date"`
	Arrivals struct {
		Expected  int `json:"expected"`
		CheckedIn int `json:"checkedIn"`
	} `json:"arrivals"`
	Departures struct {
		Expected   int `json:"expected"`
		CheckedOut int `json:"checkedOut"`
	} `json:"departures"`
	InHouse        int `json:"inHouse"`
	NoShows        int `json:"noShows"`
	RoomsTotal     int `json:"roomsTotal"`
	RoomsAvailable int `json:"roomsAvailable"`
}

// StayDoc is one reservation's stay.
type StayDoc struct {
	ReservationID string        `json:"reservationId"`
	GuestName     string        `json:"guestName"`
	RoomNumber    string        `json:"roomNumber,omitempty"`
	RoomType      string        `json:"roomType"`
	Status        string        `json:"status"`
	ArrivalDate   string        `json:"arrivalDate"`
	DepartureDate string        `json:"departureDate"`
	ETA           jsontime.Time `json:"eta,omitzero"`
	Nights        int           `json:"nights"`
	Adults        int           `json:"adults"`
	Children      int           `json:"children"`
	VIP           bool          `json:"vip"`
	BalanceDue    Money         `json:"balanceDue"`
	FolioID       string        `json:"folioId,omitempty"`
	Notes         string        `json:"notes,omitempty"`
}

// StaysDoc is GET P/arrivals, P/departures (with Date) and P/in-house.
type StaysDoc struct {
	Date  string    `json:"date,omitempty"`
	Items []StayDoc `json:"items"`
}

// Housekeeping room statuses and priorities.
const (
	RoomClean      = "clean"
	RoomDirty      = "dirty"
	RoomInspected  = "inspected"
	RoomOutOfOrder = "out_of_order"

	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent" // work orders only
)

// RoomDoc is one room of the housekeeping board.
type RoomDoc struct {
	RoomNumber string        `json:"roomNumber"`
	RoomType   string        `json:"roomType"`
	Status     string        `json:"status"`
	Occupied   bool          `json:"occupied"`
	Assignee   string        `json:"assignee,omitempty"`
	Priority   string        `json:"priority"`
	UpdatedAt  jsontime.Time `json:"updatedAt"`
}

// HousekeepingBoardDoc is housekeeping-service's GET P/housekeeping/board.
type HousekeepingBoardDoc struct {
	Rooms   []RoomDoc `json:"rooms"`
	Summary struct {
		Clean      int `json:"clean"`
		Dirty      int `json:"dirty"`
		Inspected  int `json:"inspected"`
		OutOfOrder int `json:"outOfOrder"`
	} `json:"summary"`
}

// Work order statuses.
const (
	WorkOpen       = "open"
	WorkInProgress = "in_progress"
	WorkOnHold     = "on_hold"
	WorkDone       = "done"
)

// WorkOrderDoc is one work order of the maintenance board.
type WorkOrderDoc struct {
	ID         string        `json:"id"`
	RoomNumber string        `json:"roomNumber,omitempty"`
	Title      string        `json:"title"`
	Priority   string        `json:"priority"`
	Status     string        `json:"status"`
	ReportedAt jsontime.Time `json:"reportedAt"`
	Assignee   string        `json:"assignee,omitempty"`
}

// MaintenanceBoardDoc is maintenance-service's GET P/maintenance/board.
type MaintenanceBoardDoc struct {
	WorkOrders []WorkOrderDoc `json:"workOrders"`
	Summary    struct {
		Open       int `json:"open"`
		InProgress int `json:"inProgress"`
		Urgent     int `json:"urgent"`
	} `json:"summary"`
}

// OccupancyDoc is revenue-service's GET P/occupancy.
type OccupancyDoc struct {
	Date          string  `json:"date"`
	RoomsTotal    int     `json:"roomsTotal"`
	RoomsOccupied int     `json:"roomsOccupied"`
	OccupancyPct  float64 `json:"occupancyPct"`
	ADR           Money   `json:"adr"`
	RevPAR        Money   `json:"revpar"`
}

// RevenueDoc is revenue-service's GET P/revenue.
type RevenueDoc struct {
	Date         string `json:"date"`
	RoomRevenue  Money  `json:"roomRevenue"`
	OtherRevenue Money  `json:"otherRevenue"`
	MonthToDate  Money  `json:"monthToDate"`
}

// ProvenanceDoc is where an AI suggestion comes from: model, versions,
// model class and signature fingerprint; without it a suggestion is not shown.
type ProvenanceDoc struct {
	Model                string `json:"model"`
	ModelVersion         string `json:"modelVersion"`
	PromptVersion        string `json:"promptVersion"`
	ModelClass           string `json:"modelClass"`
	SignatureFingerprint string `json:"signatureFingerprint"`
}

// SuggestionDoc is one of ai-orchestrator-service's suggestions.
type SuggestionDoc struct {
	SuggestionID string         `json:"suggestionId"`
	PropertyID   string         `json:"propertyId"`
	Category     string         `json:"category"`
	Severity     string         `json:"severity"`
	CreatedAt    jsontime.Time  `json:"createdAt"`
	ExpiresAt    jsontime.Time  `json:"expiresAt"`
	Title        string         `json:"title"`
	Body         string         `json:"body,omitempty"`
	Proposal     map[string]any `json:"proposal,omitempty"`
	Provenance   *ProvenanceDoc `json:"provenance,omitempty"`
}

// SuggestionsDoc is GET P/suggestions.
type SuggestionsDoc struct {
	Items []SuggestionDoc `json:"items"`
}

// SuggestionSummaryDoc is GET P/suggestions/summary.
type SuggestionSummaryDoc struct {
	Open           int `json:"open"`
	ActionRequired int `json:"actionRequired"`
}

// AlertDoc is one of notification-service's alerts.
type AlertDoc struct {
	AlertID    string         `json:"alertId"`
	PropertyID string         `json:"propertyId"`
	Severity   string         `json:"severity"`
	Category   string         `json:"category"`
	RaisedAt   jsontime.Time  `json:"raisedAt"`
	ResolvedAt jsontime.Time  `json:"resolvedAt,omitzero"`
	Payload    map[string]any `json:"payload"`
}

// AlertsDoc is GET P/alerts.
type AlertsDoc struct {
	Items []AlertDoc `json:"items"`
}

// AlertSummaryDoc is GET P/alerts/summary.
type AlertSummaryDoc struct {
	Open     int `json:"open"`
	Critical int `json:"critical"`
}

// DeviceStatusDoc is one desktop install as sync-service sees it.
type DeviceStatusDoc struct {
	DeviceID    string        `json:"deviceId"`
	LastSeenAt  jsontime.Time `json:"lastSeenAt"`
	PendingPush int           `json:"pendingPush"`
	LagSeconds  int           `json:"lagSeconds"`
}

// DevicesDoc is sync-service's GET P/devices/status.
type DevicesDoc struct {
	Devices []DeviceStatusDoc `json:"devices"`
	Summary struct {
		Online  int `json:"online"`
		Lagging int `json:"lagging"`
		Offline int `json:"offline"`
	} `json:"summary"`
}
