package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

type deviceStatus struct {
	DeviceID     string `json:"deviceId"`
	OperatorID   string `json:"operatorId"`
	AppVersion   string `json:"appVersion"`
	Status       string `json:"status"`
	PendingHints []struct {
		Aggregate string `json:"aggregate"`
		Count     int    `json:"count"`
	} `json:"pendingHints"`
}

// Heartbeats over HTTP: delivered newest first they leave the newest
// state; the device is listed online on its property; its pending queue is
// a hint to the same operator's other device and to no other operator.
func TestDeviceHeartbeatListAndHints(t *testing.T) {
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	_, other := e.operator(0, func(o demo.Operator) bool {
		return o.ID != op.ID && len(o.PropertyScope) > 0 && o.PropertyScope[0] == op.PropertyScope[0]
	})
	prop := op.PropertyScope[0]
	laptop := e.mint(tn, op, 0, nil)
	desk := e.mint(tn, op, 0, func(c *iam.Claims) { c.DeviceID = ids.New(ids.Device) })
	stranger := e.mint(tn, other, 0, func(c *iam.Claims) { c.DeviceID = ids.New(ids.Device) })

	base := time.Now().Add(-30 * time.Second)
	for i := 4; i >= 0; i-- {
		body := fmt.Sprintf(`{"propertyId":%q,"sentAt":%q,"appVersion":"3.4.%d","appPlatform":"win32","pending":[{"aggregate":"reservation","count":%d,"oldestAgeSeconds":60}]}`,
			prop, jsontime.Format(base.Add(time.Duration(i)*time.Second)), i, i+1)
		res := e.do("POST", "/v1/devices/heartbeat", laptop, body)
		if res.StatusCode != 200 {
			t.Fatalf("heartbeat %d: HTTP %d %s", i, res.StatusCode, res.body)
		}
		var st deviceStatus
		res.json(t, &st)
		if st.AppVersion != "3.4.4" || st.Status != "online" {
			t.Fatalf("after heartbeat %d: %+v, want the newest (3.4.4) online", i, st)
		}
	}

	res := e.do("GET", "/v1/devices?propertyId="+prop, laptop, "")
	if res.StatusCode != 200 {
		t.Fatalf("devices: HTTP %d %s", res.StatusCode, res.body)
	}
	var list struct {
		Items []deviceStatus `json:"items"`
	}
	res.json(t, &list)
	found := false
	for _, d := range list.Items {
		if d.DeviceID == op.Devices[0].ID {
			found = true
			if d.Status != "online" || d.PendingHints[0].Count != 5 {
				t.Errorf("listed device = %+v", d)
			}
		}
	}
	if !found {
		t.Fatalf("the device is not listed: %s", res.body)
	}

	var hints struct {
		Items []struct {
			DeviceID string `json:"deviceId"`
		} `json:"items"`
	}
	res = e.do("GET", "/v1/devices/hints", desk, "")
	res.json(t, &hints)
	if res.StatusCode != 200 || len(hints.Items) != 1 || hints.Items[0].DeviceID != op.Devices[0].ID {
		t.Fatalf("hints on the operator's other device: HTTP %d %s", res.StatusCode, res.body)
	}
	res = e.do("GET", "/v1/devices/hints", stranger, "")
	hints.Items = nil
	res.json(t, &hints)
	for _, h := range hints.Items {
		if h.DeviceID == op.Devices[0].ID {
			t.Errorf("another operator sees the hint: %s", res.body)
		}
	}

	rows := e.activity(tn.ID)
	n := 0
	for _, r := range rows {
		if r.Action == "device.heartbeat" && r.Outcome == "success" {
			n++
		}
	}
	if n != 5 {
		t.Errorf("heartbeat activity rows = %d, want 5", n)
	}
}
