package testenv

import (
	"testing"
)

// BusProxy is a TCP proxy in front of the Pub/Sub emulator that can take
// the bus away and bring it back on the same address: while down, it
// severs every connection and holds new ones open without an answer (the
// worst case for a client, which then waits for its deadline rather than
// failing fast); once up, it forwards again. A client in front of it
// really sees Pub/Sub unreachable, while the emulator behind keeps what it
// was given.
type BusProxy struct {
	Addr string
	tcp  *tcpProxy
}

// NewBusProxy starts a proxy to target (host:port); it stops with the test.
func NewBusProxy(t testing.TB, target string) *BusProxy {
	t.Helper()
	tcp, err := startTCPProxy(target)
	if err != nil {
		t.Fatalf("testenv.NewBusProxy: %v", err)
	}
	t.Cleanup(func() {
		_ = tcp.ln.Close()
		tcp.sever()
	})
	return &BusProxy{Addr: tcp.ln.Addr().String(), tcp: tcp}
}

// Down cuts the bus.
func (p *BusProxy) Down() {
	p.tcp.set(holding)
	p.tcp.sever()
}

// Up restores it; connections held while down are closed so their clients
// reconnect.
func (p *BusProxy) Up() {
	p.tcp.set(forwarding)
	p.tcp.sever()
}
