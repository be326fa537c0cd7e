package fakes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Fake listening on a TCP address, for the dev stack.
type Server struct {
	URL  string
	fake *Fake
	srv  *http.Server
	done chan struct{}
}

// Listen serves f on addr ("127.0.0.1:0" picks a free port).
func Listen(addr string, f *Fake) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakes.Listen %s: %w", f.Name(), err)
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		fake: f,
		srv:  &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns ErrServerClosed on Close
	}()
	return s, nil
}

// Close releases hanging requests and shuts the server down, waiting at
// most until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	s.fake.Close()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("fakes: close %s: %w", s.fake.Name(), err)
	}
	return nil
}
