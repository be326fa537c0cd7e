package testenv

import (
	"io"
	"net"
	"sync"
)

// tcpProxy forwards the connections it accepts to target and can break
// them: what Proxy (Postgres) and BusProxy (Pub/Sub) share. They differ in
// what a new connection meets while the server is away: refused at once,
// or held open with no answer.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	state proxyState
	conns map[net.Conn]struct{}
}

type proxyState int

const (
	forwarding proxyState = iota
	holding               // accepted, never answered, closed by the next sever
	refusing              // closed as soon as accepted
)

func startTCPProxy(target string) (*tcpProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.admit(c) {
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.admit(s) {
			continue
		}
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
	}
}

// admit tracks c, so sever can break it, and reports whether to forward
// it: a refused connection is closed here, a held one stays open.
func (p *tcpProxy) admit(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == refusing {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return p.state == forwarding
}

func (p *tcpProxy) set(s proxyState) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
}

// sever breaks every connection open now.
func (p *tcpProxy) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}
