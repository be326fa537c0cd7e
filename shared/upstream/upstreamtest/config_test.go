package upstreamtest_test

import (
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

// Every client's Config follows the same rules; one table checks them all
// (CheckConfig is generic over the Config, hence a closure per client).
func TestConfigs(t *testing.T) {
	t.Parallel()
	const def = 300 * time.Millisecond
	for env, check := range map[string]func(*testing.T, string){
		"AI_ORCHESTRATOR_SERVICE": func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, aiorchestrator.NewClient) },
		"HOUSEKEEPING_SERVICE":    func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, housekeeping.NewClient) },
		"MAINTENANCE_SERVICE":     func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, maintenance.NewClient) },
		"NOTIFICATION_SERVICE":    func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, notification.NewClient) },
		"RESERVATION_SERVICE":     func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, reservation.NewClient) },
		"REVENUE_SERVICE":         func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, revenue.NewClient) },
		"SYNC_SERVICE":            func(t *testing.T, env string) { upstreamtest.CheckConfig(t, env, def, syncsvc.NewClient) },
	} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			check(t, env)
		})
	}
}
