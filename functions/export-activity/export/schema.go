package export

import (
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
)

// Row is one exported row: the domain model's OperatorActivityRow in its
// own (camelCase) names, the request id and the row's link of its
// tenant's hash chain (ledgerchain, which verifies exported rows).
type Row = ledgerchain.Exported

// Ref is a row's resource.
type Ref = ledgerchain.ExportedRef

// Error is a failed or partial row's error.
type Error = ledgerchain.ExportedErr

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
	// The link (NULLABLE: rows exported before the chain have none, and
	// BigQuery adds only NULLABLE columns to a table in place).
	{Name: "chainSeq", Type: bigquery.IntegerFieldType},
	{Name: "prevHash", Type: bigquery.StringFieldType},
	{Name: "chainHash", Type: bigquery.StringFieldType},
}

// Retention of the audit lake: seven years of daily partitions.
const Retention = 7 * 365 * 24 * time.Hour

// TimePartitioning and Clustering are the table's, as terraform sets them;
// a dev load that creates the table creates it alike.
var (
	TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "occurredAt", Expiration: Retention}
	Clustering       = &bigquery.Clustering{Fields: []string{"tenantId"}}
)
