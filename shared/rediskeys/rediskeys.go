// Package rediskeys is the one registry of the Redis keys the BFF writes:
// every key name is built here, and the lifetimes that belong to a key are
// declared here. Running instances and stored data depend on these exact
// strings; rediskeys_test.go pins each one.
//
// Every key starts with the deployment's prefix (REDIS_KEY_PREFIX, "bffbo:"
// by default; each test gets its own). Below, <t> is a tenant id, <p> a
// property id, <op> an operator id, <dev> a device id.
//
// Sessions (shared/session; read on every authenticated request by the gate):
//
//	sess:<bosId>                   STRING session JSON. TTL SessionKeep (SessionTTL +
//	                               SessionSweepGrace), slid on every resolve, so the
//	                               sweeper can still read a session that went idle.
//	                               Written by session.Manager (open, touch, access
//	                               refresh, patch, close, revoke, sweep).
//	sessidx:<t>:<op>:<dev>         STRING bosId of the device's open session. TTL
//	                               SessionTTL, slid with it. Claimed with SET NX on
//	                               open, cleared on sign-out, revocation and expiry.
//	sessop:<t>:<op>                SET    the operator's bosIds, for operator-wide
//	                               revocation. TTL CutoffTTL (25 h), renewed on open
//	                               and on every resolve, so it outlives every session
//	                               in it however long that session slides. Members
//	                               whose session key is gone are pruned by revocation;
//	                               the sweeper removes the ones it expires.
//	sessexp                        ZSET   bosId → idle expiry (unix ms) of every open
//	                               session, moved forward by every resolve. No TTL.
//	                               The authority for idleness: a session whose score is
//	                               past (or which is absent) is not resumed. Removed
//	                               on sign-out and revocation, and by the sweeper once
//	                               it has announced the expiry.
//	sessexp-claimed                ZSET   bosId → lease end (unix ms): a due session a
//	                               sweeper run holds; removed with its sessexp entry
//	                               once its session.closed.v1 is published, claimed
//	                               again after the lease.
//	cutoff:<t>:<op>                HASH   {at (unix ms), reason}: the operator's tokens
//	cutoff:<t>:<op>:<dev>                 (or the device's) issued at or before `at`
//	                               are dead. TTL CutoffTTL. Written by sign-out and
//	                               the session-revoked consumer; read by every
//	                               resolve. Authoritative for revocation.
//
// Composed views (shared/compose; written and read by the view functions,
// bumped by the *-changed consumers):
//
//	ver:<t>                        STRING the tenant's cacheKeyVersion. No TTL; only
//	                               moves forward (bootstrap-changed).
//	pgen:<t>:<p>                   STRING the property's generation. No TTL; INCR by
//	                               reservation/housekeeping/maintenance-changed.
//	snap:<kind>:<t>:<p>:<roles>:v<ver>:g<gen>
//	                               STRING a composed snapshot. TTL per view (dashboard
//	                               30 s, workbench views 15 s: shared/views), a partial
//	                               one SnapshotPartialTTL (5 s). <roles> is RoleSet
//	                               (views.RoleKey). A bump changes the key looked up;
//	                               old snapshots just expire.
//	lease:<full snap key>          STRING "1": an instance is composing that snapshot.
//	                               TTL LeaseTTL (2 s). The snap key inside carries the
//	                               prefix too, so the prefix appears twice.
//	lastgood:<t>:<p>:<kind>:<widget>
//	                               STRING {at, value} of a widget's last fresh value,
//	                               served as stale when the upstream fails. TTL
//	                               LastGoodTTL (10 min).
//
// Live events (shared/devicestream writes; shared/livestream serves
// GET /v1/events from them):
//
//	devstream:<t>:<dev>            STREAM the device's live events; MAXLEN ~500.
//	                               TTL DeviceStreamTTL (8 days) after the last append.
//	devstream-notify:<t>           pub/sub CHANNEL (not a stored key): the device id
//	                               after every append; livestream PSUBSCRIBEs to
//	                               devstream-notify:*.
//	devstream-prop:<t>:<p>         ZSET   device id → last seen (unix ms); members
//	devstream-tenant:<t>                  older than DeviceRegistryWindow (24 h) are
//	                               pruned, the key expires after it.
//
// Devices (shared/devices; written by device-heartbeat, dropped by
// device-deleted):
//
//	devsync:<t>:<dev>              HASH   {k: ordering key of the stored heartbeat (its
//	                               sentAt, unix ms), v: DeviceSyncStatus JSON}: the hot
//	                               copy of bff.device_sync's row, replaced only by a
//	                               heartbeat at least as new. TTL DeviceStatusTTL
//	                               (24 h) from the last heartbeat.
//
// Preferences (shared/preferences; read-through and write-through mirror of
// tenant-service's, read and written by the preferences function):
//
//	prefs:<t>:<op>                 HASH   {v: version, d: OperatorPreferences JSON}: replaced
//	                               only by a higher version, so a slower read-through never
//	                               overwrites a newer write-through. TTL PreferencesTTL (30
//	                               days), renewed by every write.
//	shortcuts:<t>:<op>[:<p>]       HASH   {v: version, d: overrides document JSON}: the
//	                               operator's global shortcut overrides (or property
//	                               <p>'s), mirrored from tenant-service by
//	                               shared/shortcuts exactly as prefs:; TTL PreferencesTTL.
//
// Event consumers (shared/events/consume):
//
//	evt:<consumer>:<eventId>       STRING time processed: the event was handled; a
//	                               redelivery is acknowledged without effect. TTL
//	                               EventMarkerTTL (8 days, past Pub/Sub's 7-day
//	                               retention).
//
// Inbox mirrors (shared/inbox; <kind> is "aiinbox" for AI suggestions,
// "alertinbox" for alerts; written by their consumers and read-throughs,
// read by the inbox functions):
//
//	<kind>:<t>:<p>                 HASH   upstream id → item JSON. TTL InboxTTL (30 days),
//	                               renewed on every write.
//	<kind>-end:<t>:<p>             HASH   upstream id → when it ended (decided,
//	                               invalidated, resolved). TTL InboxTTL.
//	<kind>-loaded:<t>:<p>          STRING the mirror was filled from the upstream; TTL
//	                               the read-through's trust window (5 min).
//	<kind>-id:<t>:<entryId>        STRING "<p> <upstream id>" of an inbox entry id.
//	                               TTL InboxTTL.
//	<kind>-order:<t>:<p>:<category>
//	                               ZSET   "<entryId> <upstream id>", all scores 0: the
//	                               category's entries in entry-id (= arrival time)
//	                               order, paged with ZRANGE BYLEX. TTL InboxTTL.
//	<kind>-gone:<t>:<p>            ZSET   "<category> <entryId> <upstream id>" → when the
//	                               entry leaves the mirror (unix ms); writes prune a
//	                               bounded batch of what is due. TTL InboxTTL.
//
// Idempotency records of replayed mutations are not in Redis: they are
// Firestore documents (collection "idempotency", shared/idempotency).
package rediskeys

import (
	"slices"
	"strings"
	"time"
)

// Lifetimes of the keys above.
const (
	// SessionTTL is the sliding idle lifetime of a session and its index.
	SessionTTL = 12 * time.Hour
	// SessionSweepGrace is how long a session's JSON outlives its idle
	// expiry, so the sweeper (every minute) can still read it to move it to
	// expired and emit session.closed.v1; longer than any plausible pause of
	// the scheduler.
	SessionSweepGrace = 2 * time.Hour
	// SessionKeep is the TTL of a session's JSON.
	SessionKeep = SessionTTL + SessionSweepGrace
	// SessionSweepLease is how long a sweeper run holds a claimed session
	// before another run may claim it again (a run that died midway).
	SessionSweepLease = 5 * time.Minute
	// CutoffTTL keeps revocation markers (and the operator's session set)
	// longer than any token they can match: tokens live at most 12 h.
	CutoffTTL = 25 * time.Hour

	// SnapshotPartialTTL bounds a snapshot with a failed widget, so a
	// recovered upstream shows up soon.
	SnapshotPartialTTL = 5 * time.Second
	// LeaseTTL bounds a composing lease, so a dead holder is replaced soon.
	LeaseTTL = 2 * time.Second
	// LastGoodTTL is how long a widget's last fresh value may stand in.
	LastGoodTTL = 10 * time.Minute

	// DeviceStreamTTL is how long a device's stream outlives its last
	// append: longer than a desktop is expected to stay offline (the
	// idempotency window).
	DeviceStreamTTL = 8 * 24 * time.Hour
	// DeviceRegistryWindow is how long a device stays registered for
	// property- and tenant-wide events after it was last seen.
	DeviceRegistryWindow = 24 * time.Hour

	// DeviceStatusTTL is the life of a device's hot status after its last
	// heartbeat; past it, readers go to Postgres.
	DeviceStatusTTL = 24 * time.Hour

	// PreferencesTTL is the mirror's life (domain model: 30 days).
	PreferencesTTL = 30 * 24 * time.Hour

	// EventMarkerTTL outlives Pub/Sub's maximum message retention (7 days),
	// so no redelivery outlives its marker.
	EventMarkerTTL = 8 * 24 * time.Hour

	// InboxTTL is the retention of an inbox mirror; every write renews it,
	// so a property with any activity keeps its inbox.
	InboxTTL = 30 * 24 * time.Hour
)

// Keys builds the keys of one deployment (one prefix). The zero value has
// no prefix.
type Keys struct{ prefix string }

// New returns the keys under prefix.
func New(prefix string) Keys { return Keys{prefix: prefix} }

// Prefix is the deployment prefix every key starts with.
func (k Keys) Prefix() string { return k.prefix }

// Join joins the prefix and parts with ':'. Prefer a named builder; Join is
// for tests and tools that need a scratch key under the prefix.
func (k Keys) Join(parts ...string) string {
	n := len(k.prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	// One allocation: every request builds several keys.
	var b strings.Builder
	b.Grow(n)
	b.WriteString(k.prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Session is sess:<id>. Session("") is the prefix of every session key,
// which the resolve script completes with an id it reads.
func (k Keys) Session(id string) string { return k.Join("sess", id) }

// SessionIndex is sessidx:<t>:<op>:<dev>.
func (k Keys) SessionIndex(tenantID, operatorID, deviceID string) string {
	return k.Join("sessidx", tenantID, operatorID, deviceID)
}

// OperatorSessions is sessop:<t>:<op>.
func (k Keys) OperatorSessions(tenantID, operatorID string) string {
	return k.Join("sessop", tenantID, operatorID)
}

// SessionExpiry is sessexp.
func (k Keys) SessionExpiry() string { return k.Join("sessexp") }

// SessionExpiryClaimed is sessexp-claimed.
func (k Keys) SessionExpiryClaimed() string { return k.Join("sessexp-claimed") }

// Cutoff is cutoff:<t>:<op>, or cutoff:<t>:<op>:<dev> for a device.
func (k Keys) Cutoff(tenantID, operatorID, deviceID string) string {
	if deviceID == "" {
		return k.Join("cutoff", tenantID, operatorID)
	}
	return k.Join("cutoff", tenantID, operatorID, deviceID)
}

// CacheVersion is ver:<t>.
func (k Keys) CacheVersion(tenantID string) string { return k.Join("ver", tenantID) }

// PropertyGeneration is pgen:<t>:<p>.
func (k Keys) PropertyGeneration(tenantID, propertyID string) string {
	return k.Join("pgen", tenantID, propertyID)
}

// SnapshotBase is snap:<kind>:<t>:<p>:<roles>, the snapshot key before its
// version and generation (Snapshot) are known.
func (k Keys) SnapshotBase(kind, tenantID, propertyID, roles string) string {
	return k.Join("snap", kind, tenantID, propertyID, roles)
}

// RoleSet names a set of roles in snapshot keys (<roles>): sorted,
// deduplicated and joined with "+", so an operator with two roles shares
// the cache with others who hold exactly the same two, and never with
// holders of just one.
func RoleSet(roles []string) string {
	r := slices.Clone(roles)
	slices.Sort(r)
	return strings.Join(slices.Compact(r), "+")
}

// Snapshot completes a SnapshotBase with the version and generation as
// Redis holds them: <base>:v<ver>:g<gen>. compose's lookup script builds
// the same string in Lua.
func Snapshot(base, ver, gen string) string { return base + ":v" + ver + ":g" + gen }

// Lease is lease:<key>, the composing lease of a full snapshot key.
func (k Keys) Lease(snapshotKey string) string { return k.Join("lease") + ":" + snapshotKey }

// LastGood is lastgood:<t>:<p>:<kind>:<widget>; the widget is always the
// last part, which compose relies on to read it back.
func (k Keys) LastGood(tenantID, propertyID, kind, widget string) string {
	return k.Join("lastgood", tenantID, propertyID, kind, widget)
}

// DeviceStream is devstream:<t>:<dev>.
func (k Keys) DeviceStream(tenantID, deviceID string) string {
	return k.Join("devstream", tenantID, deviceID)
}

// DeviceStreamChannel is the channel devstream-notify:<t>;
// DeviceStreamChannel("") is the prefix of them all.
func (k Keys) DeviceStreamChannel(tenantID string) string {
	return k.Join("devstream-notify", tenantID)
}

// DevicesOfProperty is devstream-prop:<t>:<p>.
func (k Keys) DevicesOfProperty(tenantID, propertyID string) string {
	return k.Join("devstream-prop", tenantID, propertyID)
}

// DevicesOfTenant is devstream-tenant:<t>.
func (k Keys) DevicesOfTenant(tenantID string) string {
	return k.Join("devstream-tenant", tenantID)
}

// DeviceStatus is devsync:<t>:<dev>, a device's hot DeviceSyncStatus.
func (k Keys) DeviceStatus(tenantID, deviceID string) string {
	return k.Join("devsync", tenantID, deviceID)
}

// Preferences is prefs:<t>:<op>, an operator's mirrored preferences.
func (k Keys) Preferences(tenantID, operatorID string) string {
	return k.Join("prefs", tenantID, operatorID)
}

// Shortcuts is shortcuts:<t>:<op>, an operator's mirrored global shortcut
// overrides, or shortcuts:<t>:<op>:<p> those of property p.
func (k Keys) Shortcuts(tenantID, operatorID, propertyID string) string {
	if propertyID == "" {
		return k.Join("shortcuts", tenantID, operatorID)
	}
	return k.Join("shortcuts", tenantID, operatorID, propertyID)
}

// EventMarker is evt:<consumer>:<eventId>.
func (k Keys) EventMarker(consumer, eventID string) string {
	return k.Join("evt", consumer, eventID)
}

// InboxItems is <kind>:<t>:<p>.
func (k Keys) InboxItems(kind, tenantID, propertyID string) string {
	return k.Join(kind, tenantID, propertyID)
}

// InboxEnds is <kind>-end:<t>:<p>.
func (k Keys) InboxEnds(kind, tenantID, propertyID string) string {
	return k.Join(kind+"-end", tenantID, propertyID)
}

// InboxLoaded is <kind>-loaded:<t>:<p>.
func (k Keys) InboxLoaded(kind, tenantID, propertyID string) string {
	return k.Join(kind+"-loaded", tenantID, propertyID)
}

// InboxEntry is <kind>-id:<t>:<entryId>.
func (k Keys) InboxEntry(kind, tenantID, entryID string) string {
	return k.Join(kind+"-id", tenantID, entryID)
}

// InboxOrder is <kind>-order:<t>:<p>:<category>.
func (k Keys) InboxOrder(kind, tenantID, propertyID, category string) string {
	return k.Join(kind+"-order", tenantID, propertyID, category)
}

// InboxGone is <kind>-gone:<t>:<p>.
func (k Keys) InboxGone(kind, tenantID, propertyID string) string {
	return k.Join(kind+"-gone", tenantID, propertyID)
}
