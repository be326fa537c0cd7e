package localstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server we started in its own process group. The group matters:
// gcloud starts Java as a grandchild, and a Ctrl-C in the terminal must reach
// the launcher only, which then stops the servers in order.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once Wait has reaped the leader
	waitErr error
	stopped bool // the group is known gone; never signal its id again
}

// startProc starts cmd with its output in logPath. The log is an *os.File so
// that exec does not copy through pipes: a grandchild holding a pipe open
// would otherwise keep Wait from returning.
func startProc(name, logPath string, cmd *exec.Cmd) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	cmd.Stdout = f
	cmd.Stderr = f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", cmd.Path, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exitError describes how the process ended; call it only after done is closed.
func (p *proc) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("%s exited: %w", p.name, p.waitErr)
	}
	return fmt.Errorf("%s exited with status 0", p.name)
}

// stop sends SIGTERM to the group, waits up to grace for it to empty, then
// SIGKILLs whatever is left. It returns once the group is gone or a short
// deadline after SIGKILL has passed.
func (p *proc) stop(grace time.Duration) error {
	if p.stopped {
		return nil
	}
	pgid := p.pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if waitGroupGone(pgid, p.done, grace) {
		p.stopped = true
		return nil
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if waitGroupGone(pgid, p.done, 5*time.Second) {
		p.stopped = true
		return nil
	}
	return fmt.Errorf("%s: process group %d still alive after SIGKILL", p.name, pgid)
}

// waitGroupGone reports whether the leader has been reaped and no member of
// the group remains within d. Members other than the leader are reaped by
// init, so the group test is kill(-pgid, 0) returning ESRCH.
func waitGroupGone(pgid int, leaderDone <-chan struct{}, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	select {
	case <-leaderDone:
	case <-deadline.C:
		return false
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !groupAlive(pgid) {
			return true
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return false
		}
	}
}

// groupAlive reports whether a process group has a live (non-zombie) member.
// kill(-pgid, 0) alone counts zombies, which linger where PID 1 does not reap
// orphans (some containers); on Linux /proc tells them apart.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, pgrp, ok := procStat(pid); ok && pgrp == pgid && state != 'Z' {
			return true
		}
	}
	return false
}

// processAlive reports whether pid is a live (non-zombie) process.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if state, _, ok := procStat(pid); ok {
		return state != 'Z'
	}
	_, err := os.Stat("/proc/self/stat")
	// With /proc present, a missing entry means the process is gone.
	return err != nil
}

// procStat reads state and process group from /proc/PID/stat (Linux only).
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces or ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pgrp, true
}

// FreePort asks the kernel for a free 127.0.0.1 port. Another process may
// take it before the caller binds it, so callers retry on "address in use".
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localstack: free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("localstack: free port: %w", err)
	}
	return port, nil
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	const maxBytes, maxLines = 4096, 15
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(st.Size()-maxBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxBytes))
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(b, nil)), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// withLog appends the tail of a log to err, so a failed start explains itself.
func withLog(err error, path string) error {
	tail := logTail(path)
	if tail == "" {
		return err
	}
	return fmt.Errorf("%w\n--- %s (tail) ---\n%s", err, path, tail)
}

// portInUse reports whether a server's log says its port was taken, which is
// the race FreePort cannot rule out.
func portInUse(path string) bool {
	return strings.Contains(strings.ToLower(logTail(path)), "address already in use")
}

// environWithout returns os.Environ minus variables with the given prefixes.
func environWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}
