package verifyledger

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// The BigQuery endpoint is called without credentials: only a loopback
// fake may be set.
func TestConfigRefusesARemoteEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"", true},
		{"http://127.0.0.1:9050/bigquery/v2/", true},
		{"http://localhost:9050/bigquery/v2/", true},
		{"https://bigquery.example.com/bigquery/v2/", false},
		{"http://10.0.0.3/bigquery/v2/", false},
	} {
		c := Config{BigQuery: setup.BigQuery{Endpoint: tc.endpoint}, PageRows: 5000}
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("endpoint %q: %v, want ok=%v", tc.endpoint, err, tc.ok)
		}
	}
	if err := (&Config{PageRows: 0}).Validate(); err == nil {
		t.Error("a page of 0 rows was accepted")
	}
}
