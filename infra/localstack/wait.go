package localstack

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// errExited marks a readiness wait that ended because the server died.
var errExited = errors.New("server process exited")

// poll runs check until it succeeds, ctx ends, timeout passes or exited is
// closed. Intervals grow from 20 ms to 250 ms: servers here start in tens of
// milliseconds (Redis) to tens of seconds (Java emulators).
func poll(parent context.Context, timeout time.Duration, exited <-chan struct{}, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	interval := 20 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				// The caller gave up; the last probe error is noise then.
				return parent.Err()
			}
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("not ready after %s: %w", timeout, errors.Join(ctx.Err(), last))
		case <-exited:
			return errExited
		case <-t.C:
		}
		if last = check(ctx); last == nil {
			return nil
		}
		t.Reset(interval)
		interval = min(interval*3/2, 250*time.Millisecond)
	}
}

// WaitTCP waits until addr (host:port) accepts a TCP connection, ctx ends or
// timeout passes.
func WaitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	if err := poll(ctx, timeout, nil, func(ctx context.Context) error { return dialOnce(ctx, addr) }); err != nil {
		return fmt.Errorf("localstack: wait for tcp %s: %w", addr, err)
	}
	return nil
}

// WaitHTTP waits until GET url answers 200, ctx ends or timeout passes.
func WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	if err := poll(ctx, timeout, nil, func(ctx context.Context) error { return httpOK(ctx, url) }); err != nil {
		return fmt.Errorf("localstack: wait for %s: %w", url, err)
	}
	return nil
}

func dialOnce(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

// httpOK does one GET and wants a 200; the emulators answer "Ok" on / once
// they serve.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// probeRedis sends PING and wants +PONG, so a server that needs a password
// (which the tests do not have) counts as unusable.
func probeRedis(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return fmt.Errorf("redis PING: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("redis PING: %w", err)
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("redis PING: got %q", line)
	}
	return nil
}

// probePostgres sends a protocol 3.0 startup message for the URL's user and
// database and reads the first answer. It needs no driver, and unlike a bare
// TCP dial it notices a wrong server, a missing role or database, and a
// server that wants a password the URL lacks.
func probePostgres(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse postgres URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("postgres URL: scheme %q is not postgres://", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return errors.New("postgres URL: no TCP host (unix sockets cannot be reused)")
	}
	if port == "" {
		port = "5432"
	}
	user := u.User.Username()
	if user == "" {
		user = "postgres"
	}
	_, hasPassword := u.User.Password()
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = user
	}

	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))

	body := binary.BigEndian.AppendUint32(nil, 3<<16) // protocol 3.0
	for _, s := range []string{"user", user, "database", db} {
		body = append(append(body, s...), 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := c.Write(append(msg, body...)); err != nil {
		return fmt.Errorf("postgres startup: %w", err)
	}

	r := bufio.NewReader(c)
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("postgres startup: %w", err)
	}
	n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
	if n < 0 || n > 1<<16 {
		return fmt.Errorf("postgres startup: bad message length %d (not a Postgres server?)", n+4)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return fmt.Errorf("postgres startup: %w", err)
	}
	switch hdr[0] {
	case 'R':
		if len(payload) < 4 {
			return errors.New("postgres startup: short authentication message")
		}
		if code := binary.BigEndian.Uint32(payload); code != 0 && !hasPassword {
			return fmt.Errorf("postgres asks user %q for a password (auth method %d) and the URL has none", user, code)
		}
		// A polite Terminate, so the server does not log an aborted session.
		_, _ = c.Write([]byte{'X', 0, 0, 0, 4})
		return nil
	case 'E':
		return fmt.Errorf("postgres refused the connection: %s", pgErrorMessage(payload))
	default:
		return fmt.Errorf("postgres startup: unexpected message %q (not a Postgres server?)", hdr[0])
	}
}

// pgErrorMessage renders the S, C and M fields of an ErrorResponse.
func pgErrorMessage(p []byte) string {
	fields := map[byte]string{}
	for len(p) > 1 {
		typ := p[0]
		end := strings.IndexByte(string(p[1:]), 0)
		if end < 0 {
			break
		}
		fields[typ] = string(p[1 : 1+end])
		p = p[2+end:]
	}
	return fmt.Sprintf("%s %s: %s", fields['S'], fields['C'], fields['M'])
}
