package devserver

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	fakebq "github.com/melmastoon/bff-backoffice/infra/fakes/bigquery"
)

// The audit lake's table, as terraform/bigquery.tf names it and the jobs'
// BIGQUERY_DATASET and BIGQUERY_TABLE default to.
const (
	auditDataset = "melmastoon_audit"
	auditTable   = "operator_activity"
)

// createAuditTable makes the BigQuery fake's audit table from the schema
// terraform declares (terraform/operator_activity.schema.json), with its
// partitioning and clustering, so a fresh stack has the table production
// has before any export: verify-ledger then reads an empty export rather
// than a missing table.
func createAuditTable(repoRoot string, bq *fakebq.Service) error {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "terraform", "operator_activity.schema.json"))
	if err != nil {
		return fmt.Errorf("devserver: audit table schema: %w", err)
	}
	var fields []any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("devserver: audit table schema: %w", err)
	}
	return bq.CreateTable(auditDataset, map[string]any{
		"tableReference":   map[string]any{"datasetId": auditDataset, "tableId": auditTable},
		"schema":           map[string]any{"fields": fields},
		"timePartitioning": map[string]any{"type": "DAY", "field": "occurredAt", "expirationMs": "220752000000"}, // 2555 days
		"clustering":       map[string]any{"fields": []any{"tenantId"}},
	})
}
