package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// minPGMajor is the oldest server the migrations are written for.
const minPGMajor = 15

// pgServer is a throw-away cluster in dir (data in dir/data, socket in dir).
type pgServer struct {
	bin  string
	dir  string
	port int
	pid  int // postmaster, read from postmaster.pid
	cred *syscall.Credential
	env  []string
}

func (s *pgServer) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *pgServer) logPath() string { return filepath.Join(s.dir, "postgres.log") }

func (s *pgServer) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// PostgresBinDir finds the directory holding initdb and pg_ctl: pg_config's
// bindir, else the newest /usr/lib/postgresql/*/bin (Debian keeps server
// binaries off PATH), else PATH. It fails when none holds PostgreSQL 15+.
func PostgresBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return dirMajor(b) - dirMajor(a) })
	candidates = append(candidates, debian...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}

	var problems []string
	for _, dir := range candidates {
		major, err := pgMajor(dir)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if major < minPGMajor {
			problems = append(problems, fmt.Sprintf("%s is PostgreSQL %d", dir, major))
			continue
		}
		return dir, nil
	}
	msg := "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config, /usr/lib/postgresql/*/bin or PATH"
	if len(problems) > 0 {
		msg += " (" + strings.Join(problems, "; ") + ")"
	}
	return "", fmt.Errorf("localstack: %s; install PostgreSQL %d+", msg, minPGMajor)
}

func dirMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

var pgVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// pgMajor checks that dir has both tools and returns pg_ctl's major version.
func pgMajor(dir string) (int, error) {
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			return 0, fmt.Errorf("%s: no %s", dir, tool)
		}
	}
	out, err := exec.Command(filepath.Join(dir, "pg_ctl"), "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s/pg_ctl --version: %w", dir, err)
	}
	m := pgVersionRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s/pg_ctl --version: unexpected %q", dir, bytes.TrimSpace(out))
	}
	return strconv.Atoi(string(m[1]))
}

// postgresCredential returns who initdb and postgres run as. They refuse to
// run as root, so as root they run as the "postgres" OS user; setting the
// credential directly (rather than via runuser or su) keeps the tool we wait
// on our own child and works where runuser does not exist.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root, but there is no postgres OS user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// command builds a Postgres tool invocation as the right user, in its own
// process group, which is killed whole if ctx ends.
func (s *pgServer) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, tool), args...)
	// The postgres user may not be able to enter the caller's directory.
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a tool with its output in logName inside the cluster dir.
func (s *pgServer) run(ctx context.Context, logName, tool string, args ...string) error {
	logPath := filepath.Join(s.dir, logName)
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	cmd := s.command(ctx, tool, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	f.Close()
	if err != nil && ctx.Err() != nil {
		// Killed because the start was abandoned: say so, not "signal: killed".
		return fmt.Errorf("%s: %w", tool, ctx.Err())
	}
	if err != nil {
		return withLog(fmt.Errorf("%s: %w", tool, err), logPath)
	}
	return nil
}

// startPostgres creates and starts a cluster; on error it leaves nothing
// behind.
func startPostgres(ctx context.Context, opts Options) (_ *pgServer, err error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.TempDir, "bffpg-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// PG* variables (PGPORT, PGDATA, PGHOST…) of the caller must not steer
	// the tools at another cluster.
	s := &pgServer{bin: bin, dir: dir, cred: cred, env: environWithout("PG")}
	defer func() {
		if err != nil {
			_ = s.stop()
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
		// Otherwise initdb fails with a bare "fork/exec: permission denied".
		if err := traversable(filepath.Dir(dir), cred); err != nil {
			return nil, fmt.Errorf("the postgres OS user cannot reach %s (set Options.TempDir or TMPDIR to a world-traversable dir such as /tmp): %w", dir, err)
		}
	}

	// C locale: deterministic ordering and no dependency on installed locales.
	if err := s.run(ctx, "initdb.log", "initdb", "-D", s.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
max_connections = 300
`, strings.ReplaceAll(dir, "'", "''"))
	if !opts.DurablePostgres {
		conf += `
# localstack: throw-away test cluster; durability is off on purpose.
fsync = off
synchronous_commit = off
full_page_writes = off
`
	}
	if err := appendFile(filepath.Join(s.dataDir(), "postgresql.conf"), conf); err != nil {
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		if s.port, err = FreePort(); err != nil {
			return nil, err
		}
		_ = os.Remove(s.logPath())
		err = s.run(ctx, "pg_ctl.log", "pg_ctl", "start", "-D", s.dataDir(), "-l", s.logPath(),
			"-w", "-t", strconv.Itoa(int(opts.Timeout/time.Second)), "-o", fmt.Sprintf("-p %d", s.port))
		if err == nil {
			break
		}
		if attempt < portAttempts && portInUse(s.logPath()) && ctx.Err() == nil {
			continue
		}
		return nil, withLog(err, s.logPath())
	}
	if s.pid, err = readPostmasterPID(s.dataDir()); err != nil {
		return nil, err
	}
	if err := WaitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", s.port), opts.Timeout); err != nil {
		return nil, withLog(err, s.logPath())
	}
	return s, nil
}

// stop shuts the cluster down if it runs and removes its directory. A fast
// shutdown disconnects the tests' sessions instead of waiting for them.
func (s *pgServer) stop() error {
	var errs []error
	if pid, err := readPostmasterPID(s.dataDir()); err == nil {
		s.pid = pid
	}
	if _, err := os.Stat(filepath.Join(s.dataDir(), "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		err := s.run(ctx, "pg_ctl.log", "pg_ctl", "stop", "-D", s.dataDir(), "-m", "fast", "-w", "-t", "30")
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Belt and braces: pg_ctl may have failed, or a start may have been cut
	// short after the postmaster forked.
	if s.pid > 0 && processAlive(s.pid) {
		_ = syscall.Kill(s.pid, syscall.SIGQUIT) // immediate shutdown
		if !waitPIDGone(s.pid, 5*time.Second) {
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
			if !waitPIDGone(s.pid, 5*time.Second) {
				errs = append(errs, fmt.Errorf("postmaster %d still alive", s.pid))
			}
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func readPostmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	return pid, nil
}

// waitPIDGone polls for a process that is not our child (the postmaster is
// the child of a pg_ctl that has exited), so it is reaped by init.
func waitPIDGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !processAlive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// traversable checks that cred may search dir and each of its ancestors.
func traversable(dir string, cred *syscall.Credential) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return fmt.Errorf("stat %s: %w", dir, err)
		}
		var bit uint32 = 0o001
		switch {
		case st.Uid == cred.Uid:
			bit = 0o100
		case st.Gid == cred.Gid:
			bit = 0o010
		}
		if uint32(st.Mode)&bit == 0 {
			return fmt.Errorf("%s has mode %o", dir, st.Mode&0o7777)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
