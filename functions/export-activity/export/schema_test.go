package export_test

import (
	"encoding/json"
	"os"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/functions/export-activity/export"
)

type field struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Mode   string  `json:"mode"`
	Fields []field `json:"fields,omitempty"`
}

func fieldsOf(s bigquery.Schema) []field {
	var out []field
	for _, f := range s {
		mode := "NULLABLE"
		if f.Required {
			mode = "REQUIRED"
		}
		out = append(out, field{Name: f.Name, Type: string(f.Type), Mode: mode, Fields: fieldsOf(f.Schema)})
	}
	return out
}

// The table terraform creates and the rows the exporter loads agree: a
// column added to one only would fail every load in production.
func TestTerraformSchemaMatches(t *testing.T) {
	b, err := os.ReadFile("../../../terraform/operator_activity.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var tf []field
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tf, fieldsOf(export.Schema)); diff != "" {
		t.Errorf("terraform schema (-) vs export.Schema (+):\n%s", diff)
	}
}

// Every column of a Row is in the schema and the other way round.
func TestRowMatchesSchema(t *testing.T) {
	b, err := json.Marshal(export.Row{ResourceRef: &export.Ref{}, Error: &export.Error{}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != len(export.Schema) {
		t.Errorf("Row has %d columns, the schema %d", len(m), len(export.Schema))
	}
	for _, f := range export.Schema {
		if _, ok := m[f.Name]; !ok {
			t.Errorf("Row has no column %s", f.Name)
		}
	}
}
