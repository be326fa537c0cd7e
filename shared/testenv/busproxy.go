package testenv

import (
	"io"
	"net"
	"sync"
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
	Addr   string
	target string
	ln     net.Listener

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// NewBusProxy starts a proxy to target (host:port); it stops with the test.
func NewBusProxy(t testing.TB, target string) *BusProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv.NewBusProxy: %v", err)
	}
	p := &BusProxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.sever()
	})
	return p
}

func (p *BusProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		if down {
			continue // held, never answered, closed by the next Up or sever
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[s] = struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
	}
}

func (p *BusProxy) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Down cuts the bus.
func (p *BusProxy) Down() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.sever()
}

// Up restores it; connections held while down are closed so their clients
// reconnect.
func (p *BusProxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
	p.sever()
}
