package localstack

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Postgres is a cluster of a test's own, which it may crash and restart:
// for claims about what survives a database server crash. Servers shared by
// the other tests come from Start.
type Postgres struct {
	s       *pgServer
	timeout time.Duration
}

// StartPostgres creates and starts a cluster with opts (DurablePostgres
// for claims about durability; the reuse fields are ignored).
func StartPostgres(ctx context.Context, opts Options) (*Postgres, error) {
	opts.IgnoreEnv = true
	opts, _ = opts.withDefaults()
	s, err := startPostgres(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Postgres{s: s, timeout: opts.Timeout}, nil
}

// AdminURL is the superuser URL of the cluster's postgres database.
func (p *Postgres) AdminURL() string { return p.s.url() }

// Crash stops the server the way a crash does: an immediate shutdown, in
// which the postmaster and every backend quit at once, with no checkpoint
// and without writing the WAL still in shared memory. What was written to
// the operating system survives (the machine does not crash); a restart
// runs crash recovery.
func (p *Postgres) Crash(ctx context.Context) error {
	if err := p.s.run(ctx, "pg_ctl.log", "pg_ctl", "stop", "-D", p.s.dataDir(), "-m", "immediate", "-w", "-t", "30"); err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	return nil
}

// Restart starts the crashed or stopped server again on its port.
func (p *Postgres) Restart(ctx context.Context) error {
	if err := p.s.run(ctx, "pg_ctl.log", "pg_ctl", "start", "-D", p.s.dataDir(), "-l", p.s.logPath(),
		"-w", "-t", strconv.Itoa(int(p.timeout/time.Second)), "-o", fmt.Sprintf("-p %d", p.s.port)); err != nil {
		return withLog(fmt.Errorf("restart: %w", err), p.s.logPath())
	}
	pid, err := readPostmasterPID(p.s.dataDir())
	if err != nil {
		return err
	}
	p.s.pid = pid
	return WaitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", p.s.port), p.timeout)
}

// Stop shuts the server down and removes its files.
func (p *Postgres) Stop() error { return p.s.stop() }
