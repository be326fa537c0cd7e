package syncsvc_test

// Calls against the real fake are in infra/fakes/syncsvc; these feed the
// client answers the fake never gives.

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

var serve = upstreamtest.Serving("SYNC_SERVICE", syncsvc.NewClient)

func TestDevicesStatusCleans(t *testing.T) {
	t.Parallel()
	good := ids.New(ids.Device)
	c := serve(t, `{"devices":[
		{"deviceId":"`+good+`","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":2,"lagSeconds":5},
		{"deviceId":"laptop-7","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":2,"lagSeconds":5},
		{"deviceId":"`+ids.New(ids.Device)+`","lastSeenAt":"never","pendingPush":2,"lagSeconds":5},
		{"deviceId":"`+ids.New(ids.Device)+`","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":-2,"lagSeconds":5}
	],"summary":{"online":1,"lagging":0,"offline":3}}`)
	got, err := c.DevicesStatus(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 1 || got.Devices[0].DeviceID != good || got.Devices[0].PendingPush != 2 || got.Summary.Offline != 3 {
		t.Fatalf("DevicesStatus = %+v", got)
	}
	_, err = serve(t, `{"devices":[],"summary":{"online":-1}}`).DevicesStatus(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}
