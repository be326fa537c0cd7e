package rediskeys

import "testing"

func TestDeviceStreamConns(t *testing.T) {
	t.Parallel()
	if got := New("bffbo:").DeviceStreamConns("ten_1", "dev_2"); got != "bffbo:devstream-conns:ten_1:dev_2" {
		t.Fatalf("DeviceStreamConns = %q", got)
	}
}
