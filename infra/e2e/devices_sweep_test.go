package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Two heartbeat-sweeper runs started together over 1,000 silent devices
// emit exactly 1,000 device.heartbeat.lost.v1, counted at the emulator; a
// device that beats again is online on the next read.
func TestDeviceSweeperTwoRunsEmitOncePerDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn, op := e.operator(0, hasRole("front_desk"))
	prop := op.PropertyScope[0]
	tok := e.mint(tn, op, 0, nil)
	if r := e.do("POST", "/v1/devices/heartbeat", tok, fmt.Sprintf(`{"propertyId":%q}`, prop)); r.StatusCode != 200 {
		t.Fatalf("heartbeat: %d %s", r.StatusCode, r.body)
	}
	const silent = 1000
	var dsy, dev, opr, sess []string
	for range silent - 1 {
		dsy, dev = append(dsy, ids.New(ids.DeviceSync)), append(dev, ids.New(ids.Device))
		opr, sess = append(opr, ids.New(ids.Operator)), append(sess, ids.New(ids.Session))
	}
	conn, err := pgx.Connect(ctx, e.pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tn.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bff.device_sync (id, tenant_id, device_id, property_id, operator_id, session_id, sent_at, last_heartbeat_at, updated_at)
SELECT a, $1, b, $2, c, d, now(), now(), now() FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(a, b, c, d)`,
			tn.ID, prop, dsy, dev, opr, sess); err != nil {
			return err
		}
		// Six silent minutes are not waited for.
		_, err := tx.Exec(ctx, `UPDATE bff.device_sync SET last_heartbeat_at = last_heartbeat_at - interval '6 minutes'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sub := e.pullSubscription(events.DeviceHeartbeatLost)

	url := e.srv.BaseURL + devserver.JobPath("heartbeat-sweeper")
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := http.Post(url, "application/json", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("POST %s = %d", url, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	got := e.pull(sub, silent)
	perDevice := map[string]int{}
	for _, m := range got {
		var env struct {
			TenantID string `json:"tenantId"`
			Data     struct {
				DeviceID string `json:"deviceId"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.GetData(), &env); err != nil || env.TenantID != tn.ID {
			t.Fatalf("event %s: %v", m.GetData(), err)
		}
		perDevice[env.Data.DeviceID]++
	}
	if extra := e.pullFor(sub, 2*time.Second); len(extra) != 0 {
		t.Fatalf("%d events beyond the %d devices", len(extra), silent)
	}
	if len(perDevice) != silent || perDevice[op.Devices[0].ID] != 1 {
		t.Fatalf("%d devices announced (the demo device %d times), want each of %d once", len(perDevice), perDevice[op.Devices[0].ID], silent)
	}

	if r := e.do("POST", "/v1/devices/heartbeat", tok, `{}`); r.StatusCode != 200 {
		t.Fatalf("heartbeat again: %d %s", r.StatusCode, r.body)
	}
	r := e.do("GET", "/v1/devices?limit=200&propertyId="+prop, tok, "")
	var list struct {
		Items []deviceStatus `json:"items"`
	}
	r.json(t, &list)
	for _, d := range list.Items {
		if d.DeviceID == op.Devices[0].ID && d.Status != "online" {
			t.Errorf("the device that beat again is %s", d.Status)
		}
	}
}
