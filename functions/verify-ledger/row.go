package verifyledger

import (
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
)

// exported is a row of the query's answer as the chain reads it. A value
// of the wrong type is an error, not a break: the table's schema is
// terraform's, and a row that does not fit it is not a row to hash.
func exported(m map[string]bigquery.Value) (ledgerchain.Exported, error) {
	var e ledgerchain.Exported
	var errs []error
	str := func(k string) string {
		s, ok := m[k].(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %T, want a string", k, m[k]))
		}
		return s
	}
	opt := func(v bigquery.Value, k string) *string {
		if v == nil {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %T, want a string", k, v))
		}
		return &s
	}
	integer := func(k string) *int64 {
		if m[k] == nil {
			return nil
		}
		n, ok := m[k].(int64)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %T, want an integer", k, m[k]))
		}
		return &n
	}
	e.ID, e.TenantID, e.OperatorID, e.DeviceID = str("id"), str("tenantId"), str("operatorId"), str("deviceId")
	e.PropertyID, e.SessionID = opt(m["propertyId"], "propertyId"), opt(m["sessionId"], "sessionId")
	e.Category, e.Action, e.Outcome, e.RequestID = str("category"), str("action"), str("outcome"), str("requestId")
	e.ContextHash = opt(m["contextHash"], "contextHash")
	if at, ok := m["occurredAt"].(time.Time); ok {
		e.OccurredAt = at.UTC().Format(time.RFC3339Nano)
	} else {
		errs = append(errs, fmt.Errorf("occurredAt: %T, want a timestamp", m["occurredAt"]))
	}
	if n := integer("latencyMs"); n != nil {
		e.LatencyMs = *n
	}
	if ref, ok := m["resourceRef"].(map[string]bigquery.Value); ok {
		k, id := opt(ref["kind"], "resourceRef.kind"), opt(ref["id"], "resourceRef.id")
		if k != nil && id != nil {
			e.ResourceRef = &ledgerchain.ExportedRef{Kind: *k, ID: *id}
		}
	}
	if er, ok := m["error"].(map[string]bigquery.Value); ok {
		if c := opt(er["code"], "error.code"); c != nil {
			e.Error = &ledgerchain.ExportedErr{Code: *c, Message: opt(er["message"], "error.message")}
		}
	}
	e.ChainSeq = integer("chainSeq")
	e.PrevHash, e.ChainHash = opt(m["prevHash"], "prevHash"), opt(m["chainHash"], "chainHash")
	if len(errs) > 0 {
		return e, fmt.Errorf("row %q: %v", e.ID, errs)
	}
	return e, nil
}
