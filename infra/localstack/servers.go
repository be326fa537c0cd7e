package localstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// portAttempts bounds retries when another process grabs a port between
// FreePort and the server's bind.
const portAttempts = 4

// daemon is a server process we started, with its temp dir.
type daemon struct {
	proc *proc
	dir  string
	addr string
}

func (d *daemon) stop() error {
	var errs []error
	if d.proc != nil {
		if err := d.proc.stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startDaemon starts a server on a fresh port and waits for ready, retrying
// on a port race. args gets the port; ready probes host:port.
func startDaemon(ctx context.Context, opts Options, name string, args func(port int, dir string) *exec.Cmd,
	ready func(ctx context.Context, addr string) error) (_ *daemon, err error) {
	dir, err := os.MkdirTemp(opts.TempDir, "bff"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	d := &daemon{dir: dir}
	defer func() {
		if err != nil {
			_ = d.stop()
		}
	}()
	logPath := filepath.Join(dir, name+".log")
	for attempt := 1; ; attempt++ {
		var port int
		if port, err = FreePort(); err != nil {
			return nil, err
		}
		d.addr = "127.0.0.1:" + strconv.Itoa(port)
		if d.proc, err = startProc(name, logPath, args(port, dir)); err != nil {
			return nil, err
		}
		err = poll(ctx, opts.Timeout, d.proc.done, func(ctx context.Context) error { return ready(ctx, d.addr) })
		if err == nil {
			select {
			case <-d.proc.done:
				// Something else answered on the port while ours failed to
				// bind it; treat as a port race.
				err = errExited
			default:
				return d, nil
			}
		}
		if errors.Is(err, errExited) {
			// Reap any stragglers of the failed attempt before judging it.
			_ = d.proc.stop(stopGrace)
			if attempt < portAttempts && portInUse(logPath) && ctx.Err() == nil {
				d.proc = nil
				continue
			}
			return nil, withLog(d.proc.exitError(), logPath)
		}
		return nil, withLog(err, logPath)
	}
}

func startRedis(ctx context.Context, opts Options) (*daemon, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH: %w", err)
	}
	return startDaemon(ctx, opts, "redis", func(port int, dir string) *exec.Cmd {
		// Not daemonized: we keep the process to stop it. No persistence:
		// the data is throw-away and snapshots would only cost time.
		return exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir)
	}, probeRedis)
}

// gcloudEnv keeps gcloud from prompting or phoning home; neither works here.
func gcloudEnv() []string {
	return append(os.Environ(),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
	)
}

func emulatorReady(ctx context.Context, addr string) error {
	return httpOK(ctx, "http://"+addr+"/")
}

func startPubsub(ctx context.Context, opts Options) (*daemon, error) {
	bin, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, fmt.Errorf("gcloud not found on PATH (needed for the Pub/Sub emulator): %w", err)
	}
	return startDaemon(ctx, opts, "pubsub", func(port int, dir string) *exec.Cmd {
		// Own data dir: the default under ~/.config/gcloud is shared by
		// every emulator run on the machine.
		cmd := exec.Command(bin, "beta", "emulators", "pubsub", "start", "--quiet",
			"--host-port=127.0.0.1:"+strconv.Itoa(port), "--data-dir="+dir)
		cmd.Env = gcloudEnv()
		cmd.Dir = dir
		return cmd
	}, emulatorReady)
}

func startFirestore(ctx context.Context, opts Options) (*daemon, error) {
	bin, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, fmt.Errorf("gcloud not found on PATH (needed for the Firestore emulator): %w", err)
	}
	return startDaemon(ctx, opts, "firestore", func(port int, dir string) *exec.Cmd {
		cmd := exec.Command(bin, "emulators", "firestore", "start", "--quiet",
			"--host-port=127.0.0.1:"+strconv.Itoa(port))
		cmd.Env = gcloudEnv()
		cmd.Dir = dir
		return cmd
	}, emulatorReady)
}
