package setup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// The composition's budgets default to the production 300 ms / 800 ms and
// can only be widened into a consistent pair.
func TestViewsConfigBudgets(t *testing.T) {
	t.Parallel()
	load := func(vars map[string]string) (setup.ViewsConfig, error) {
		vars["TENANT_SERVICE_URL"] = "http://127.0.0.1:1"
		var c setup.ViewsConfig
		err := config.LoadFrom(context.Background(), config.MapLookuper(vars), &c)
		return c, err
	}
	c, err := load(map[string]string{})
	if err != nil || c.WidgetBudget != 300*time.Millisecond || c.TotalBudget != 800*time.Millisecond || c.SampleRate != 1 {
		t.Fatalf("defaults = %+v (%v); want 300ms, 800ms, every view's event", c, err)
	}
	if c, err = load(map[string]string{"VIEW_WIDGET_BUDGET": "1500ms", "VIEW_TOTAL_BUDGET": "3s"}); err != nil || c.WidgetBudget != 1500*time.Millisecond {
		t.Fatalf("widened = %+v (%v)", c, err)
	}
	for _, bad := range []map[string]string{
		{"VIEW_WIDGET_BUDGET": "900ms"},                             // not below the 800ms total
		{"VIEW_WIDGET_BUDGET": "1ms"},                               // too small to fetch anything
		{"VIEW_TOTAL_BUDGET": "11s", "VIEW_WIDGET_BUDGET": "300ms"}, // past any client's patience
	} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "VIEW_WIDGET_BUDGET") {
			t.Errorf("%v accepted (%v)", bad, err)
		}
	}
}
