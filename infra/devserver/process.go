package devserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// BuildCommand compiles infra/cmd/devserver into dir and returns the
// binary's path. A plain build on purpose: the processes it starts are the
// system under test, not the code a -race test instruments.
func BuildCommand(ctx context.Context, repoRoot, dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("devserver.BuildCommand: %w", err)
	}
	bin := filepath.Join(dir, "devserver")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./infra/cmd/devserver")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("devserver.BuildCommand: go build: %w\n%s", err, out)
	}
	return bin, nil
}

// ProcessOptions configure one dev-server process (infra/cmd/devserver).
type ProcessOptions struct {
	Binary      string // from BuildCommand
	RepoRoot    string
	DatabaseURL string // app role; passed in the environment, never in argv
	RedisAddr   string
	RedisPrefix string
	ProjectID   string
	Upstreams   map[string]string // every fake, as Options.Upstreams
	// Stderr receives the process's log; nil discards it.
	Stderr io.Writer
	// LogLevel is the least level logged: "debug", "info", "warn"
	// (when empty) or "error".
	LogLevel string
}

// Process is a running dev-server process.
type Process struct {
	BaseURL string

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	err   error // of Wait, once done is closed
}

// StartProcess starts a dev-server process and waits, at most until ctx
// ends, for it to serve. The process stops when Close closes its stdin,
// which also happens when this process dies.
func StartProcess(ctx context.Context, o ProcessOptions) (_ *Process, err error) {
	ups, err := json.Marshal(o.Upstreams)
	if err != nil {
		return nil, fmt.Errorf("devserver.StartProcess: %w", err)
	}
	// Not CommandContext: ctx bounds the start only, not the life.
	level := o.LogLevel
	if level == "" {
		level = "warn"
	}
	cmd := exec.Command(o.Binary, "-repo", o.RepoRoot, "-redis", o.RedisAddr, "-redis-prefix", o.RedisPrefix,
		"-project", o.ProjectID, "-upstreams", string(ups), "-log-level", level)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+o.DatabaseURL)
	cmd.Stderr = o.Stderr
	p := &Process{cmd: cmd, done: make(chan struct{})}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("devserver.StartProcess: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("devserver.StartProcess: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devserver.StartProcess: %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- strings.TrimSpace(line)
		// Drained so that a stray print can never block the process.
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "http://") {
			<-p.done
			return nil, fmt.Errorf("devserver.StartProcess: no base URL announced (%v); see its stderr", p.err)
		}
		p.BaseURL = line
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("devserver.StartProcess: waiting for the process to serve: %w", ctx.Err())
	}
}

// Kill ends the process with SIGKILL — no shutdown, no deferred work, as
// when an instance is lost — and waits for it to be gone.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("devserver: kill: %w", err)
	}
	<-p.done
	_ = p.stdin.Close()
	return nil
}

// Close asks the process to stop, by closing its stdin, and kills it if it
// has not stopped within 10 s.
func (p *Process) Close() error {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("devserver: process did not stop within 10 s; killed")
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return fmt.Errorf("devserver: process exited: %w", p.err)
	}
	return nil
}
