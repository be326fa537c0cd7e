package export

import (
	"time"

	"cloud.google.com/go/bigquery"
)

// Row is one exported row: the domain model's OperatorActivityRow in its
// own (camelCase) names, plus the request id.
type Row struct {
	ID          string  `json:"id"`
	TenantID    string  `json:"tenantId"`
	PropertyID  *string `json:"propertyId"`
	OperatorID  string  `json:"operatorId"`
	DeviceID    string  `json:"deviceId"`
	SessionID   *string `json:"sessionId"`
	OccurredAt  string  `json:"occurredAt"` // RFC 3339, microseconds
	Category    string  `json:"category"`
	Action      string  `json:"action"`
	ResourceRef *Ref    `json:"resourceRef"`
	Outcome     string  `json:"outcome"`
	LatencyMs   int     `json:"latencyMs"`
	Error       *Error  `json:"error"`
	ContextHash *string `json:"contextHash"`
	RequestID   string  `json:"requestId"`
}

// Ref is a row's resource.
type Ref struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Error is a failed or partial row's error.
type Error struct {
	Code    string  `json:"code"`
	Message *string `json:"message"`
}

// Schema is the table's schema; terraform/operator_activity.schema.json declares the same
// (TestTerraformSchemaMatches keeps them equal).
var Schema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType, Required: true},
	{Name: "tenantId", Type: bigquery.StringFieldType, Required: true},
	{Name: "propertyId", Type: bigquery.StringFieldType},
	{Name: "operatorId", Type: bigquery.StringFieldType, Required: true},
	{Name: "deviceId", Type: bigquery.StringFieldType, Required: true},
	{Name: "sessionId", Type: bigquery.StringFieldType},
	{Name: "occurredAt", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "category", Type: bigquery.StringFieldType, Required: true},
	{Name: "action", Type: bigquery.StringFieldType, Required: true},
	{Name: "resourceRef", Type: bigquery.RecordFieldType, Schema: bigquery.Schema{
		{Name: "kind", Type: bigquery.StringFieldType, Required: true},
		{Name: "id", Type: bigquery.StringFieldType, Required: true},
	}},
	{Name: "outcome", Type: bigquery.StringFieldType, Required: true},
	{Name: "latencyMs", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "error", Type: bigquery.RecordFieldType, Schema: bigquery.Schema{
		{Name: "code", Type: bigquery.StringFieldType, Required: true},
		{Name: "message", Type: bigquery.StringFieldType},
	}},
	{Name: "contextHash", Type: bigquery.StringFieldType},
	{Name: "requestId", Type: bigquery.StringFieldType, Required: true},
}

// Retention of the audit lake: seven years of daily partitions.
const Retention = 7 * 365 * 24 * time.Hour

// TimePartitioning and Clustering are the table's, as terraform sets them;
// a dev load that creates the table creates it alike.
var (
	TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "occurredAt", Expiration: Retention}
	Clustering       = &bigquery.Clustering{Fields: []string{"tenantId"}}
)
