package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/buildcheck"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// coldStartBudget is how long one start may take before it counts as
// failed (the figure's target is 150 ms; this only bounds a hung start).
const coldStartBudget = 20 * time.Second

// ColdStart builds every function as the buildpack does (buildcheck) and
// starts each binary as Cloud Run does — FUNCTION_TARGET, PORT and the
// function's configuration in the environment — timing process start to
// its first 200: GET /health for an HTTP function, POST / for a scheduled
// one, and a Pub/Sub CloudEvent for an event function. Each is started
// three times; the figure is the median start of the slowest function.
func ColdStart(ctx context.Context, env Env, o Options) (*Report, error) {
	rep := newReport("cold-start", "process start → first 200 of each function binary, and its size")
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: env.RepoRoot, DatabaseURL: env.AppURL, JobsDatabaseURL: env.JobsURL, RedisAddr: env.RedisAddr, RedisPrefix: env.RedisPrefix,
		ProjectID: env.ProjectID, Log: env.Log,
	})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	m, err := manifest.Load(env.RepoRoot)
	if err != nil {
		return nil, err
	}
	c := buildcheck.Checker{KeepWorkDir: true}
	results, err := c.Run(ctx, env.RepoRoot, o.Functions)
	defer func() {
		for _, r := range results {
			if r.WorkDir != "" {
				_ = os.RemoveAll(r.WorkDir)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	const starts = 3
	rep.Settings["startsPerFunction"] = starts
	var slowest, biggest float64
	var slowestName, biggestName string
	var neverStarted []string // a function that never answered is no fast start
	for _, r := range results {
		fn, _ := m.Lookup(r.Name)
		bin := filepath.Join(r.WorkDir, "bin", r.Name)
		var (
			times []float64
			errs  []string
			total time.Duration
		)
		for range starts {
			d, err := startOnce(ctx, bin, fn, srv.Env)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			total += d
			times = append(times, float64(d.Microseconds())/1000)
		}
		slices.Sort(times)
		run := Run{Name: r.Name, Concurrency: 1, Unit: "start", OK: uint64(len(times)), Failed: uint64(len(errs)),
			Seconds: round3(total.Seconds()), PerSecond: round1(ratio(float64(len(times)), total.Seconds())),
			Errors: errs, Extra: map[string]float64{"binaryMB": round3(float64(r.BinaryBytes) / 1e6)}}
		if len(times) == 0 {
			neverStarted = append(neverStarted, r.Name)
		} else {
			med := times[len(times)/2]
			run.Latency = &Latency{Samples: uint64(len(times)), P50: round3(med), Min: round3(times[0]), Max: round3(times[len(times)-1]), Mean: round3(med)}
			if med > slowest {
				slowest, slowestName = med, r.Name
			}
		}
		if mb := float64(r.BinaryBytes) / 1e6; mb > biggest {
			biggest, biggestName = mb, r.Name
		}
		rep.Runs = append(rep.Runs, run)
	}
	rep.Figures = []Figure{
		{Name: "slowest cold start (median of " + strconv.Itoa(starts) + "): " + slowestName, Value: round3(slowest), Unit: "ms",
			How: "process start to first 200, binary as the buildpack builds it", Target: "< 150 ms", Met: met(slowest > 0 && slowest < 150 && len(neverStarted) == 0)},
		{Name: "functions that never answered 2xx: " + strings.Join(neverStarted, ", "), Value: float64(len(neverStarted)), Unit: "functions",
			How: "of " + strconv.Itoa(len(results)) + ", each started " + strconv.Itoa(starts) + " times; the run's errors say why", Target: "0", Met: met(len(neverStarted) == 0)},
		{Name: "biggest binary: " + biggestName, Value: round3(biggest), Unit: "MB",
			How: "go build -trimpath -ldflags='-s -w' from vendor/", Target: "< 40 MB", Met: met(biggest < 40)},
	}
	rep.Notes = append(rep.Notes, "every start opens its clients (Postgres, Redis, Pub/Sub, the JWKS fetch) before the first answer, as a deployed instance does in init; the stack is local, so network round trips to GCP services are not in these figures")
	return rep, nil
}

// startOnce runs bin as function fn with the stack's configuration and
// returns the time from process start to its first 200.
func startOnce(ctx context.Context, bin string, fn manifest.Function, config map[string]string) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, coldStartBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "FUNCTION_TARGET="+fn.EntryPoint, "PORT="+strconv.Itoa(port))
	for k, v := range config {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Functions log to stdout (Cloud Run's structured logs), a crash goes
	// to stderr: a failed start shows the last line of either.
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%s: %w", fn.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := firstRequest(ctx, url, fn)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return time.Since(start), nil
			}
			return 0, fmt.Errorf("%s: first answer %d: %s", fn.Name, resp.StatusCode, lastLine(stderr.bytes()))
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s: no answer within %s: %s", fn.Name, coldStartBudget, lastLine(stderr.bytes()))
		case err := <-exited:
			exited <- err // for the deferred wait
			return 0, fmt.Errorf("%s: exited before answering (%v): %s", fn.Name, err, lastLine(stderr.bytes()))
		case <-time.After(time.Millisecond):
		}
	}
}

func firstRequest(ctx context.Context, url string, fn manifest.Function) (*http.Request, error) {
	switch fn.Kind {
	case manifest.KindScheduled:
		return http.NewRequestWithContext(ctx, http.MethodPost, url+"/", nil)
	case manifest.KindEvent:
		// A well-formed envelope whose data the consumer may refuse as
		// poison: refused or applied, it is acknowledged with a 2xx.
		env, err := events.New(fn.Trigger, ids.New(ids.Tenant), "", map[string]string{})
		if err != nil {
			return nil, err
		}
		data, _ := json.Marshal(env)
		body, _ := json.Marshal(map[string]any{"subscription": "projects/p/subscriptions/s",
			"message": map[string]any{"data": data, "messageId": "1", "publishTime": time.Now().UTC().Format(time.RFC3339Nano)}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Ce-Id", ids.New(ids.Event))
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Type", "google.cloud.pubsub.topic.v1.messagePublished")
		req.Header.Set("Ce-Source", "//pubsub.googleapis.com/projects/p/topics/"+fn.Trigger)
		return req, nil
	default:
		return http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > 1000 {
		b = b[:1000]
	}
	return string(b)
}

// lockedBuffer is the process's stderr, read while exec still copies into it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
