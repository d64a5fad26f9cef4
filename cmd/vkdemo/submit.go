package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/cluster"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
)

func init() { register(newSubmitCmd) }

// submitConfig is the command line of `vkdemo submit`.
type submitConfig struct {
	nats       natsFlags
	id         string
	wait       bool
	watch      bool
	jsonOut    bool
	outDir     string
	attach     []string
	maxRequest int64
	jobFile    string
}

const submitLong = `Submit a job to a NATS JetStream queue, for 'vkdemo worker' processes
to run; with --wait or --watch, wait for its result and print it.

JOBFILE is the job's JSON, exactly as 'vkdemo serve' takes it on POST
/jobs (see 'vkdemo serve --help'), "-" for stdin. --attach NAME=FILE adds
a part: "spirv" (your own SPIR-V module instead of a built-in kernel) or
"bindingN" (the raw little-endian bytes, or a .npy file, of binding N);
with parts the job is sent as a multipart body, as curl -F would.

The job is checked here first, with serve's parser and caps (a bad job is
one line on stderr and exit status 2, nothing is queued), then queued
with an ID (--id, else a new one, printed). Submitting the same --id again
queues nothing: the job runs once, and --wait returns its one result.

--watch prints each output as it arrives (frame headers; outputs of a run
that failed and was retried elsewhere are followed by the retry's), then
the result. The result lists the outputs of the job's last iteration and
its saves; --out DIR writes them atomically: DIR/bindingN.npy for each
output, DIR/PATH for each save (PATH as the job gave it, confined to DIR).

Exit status: 0 the job succeeded (or was queued, without --wait/--watch),
1 it failed or was dead-lettered (the reason on stderr), 2 bad input.`

const submitExample = `  echo '{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8","save":{"1":"y.npy"}}' > job.json
  vkdemo submit --nats nats://127.0.0.1:4222 --wait --out results job.json
  vkdemo submit --nats nats://127.0.0.1:4222 --id run-42 --watch job2.json --attach spirv=my.spv --attach binding0=x.npy`

func newSubmitCmd(a *app) *cobra.Command {
	var cfg submitConfig
	var maxRequest string
	cmd := &cobra.Command{
		Use:     "submit --nats URL [flags] JOBFILE",
		Short:   "Queue a job for vkdemo workers over NATS and (optionally) wait for its result",
		Long:    submitLong,
		Example: submitExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.jobFile = args[0]
			sz, err := parseSize(maxRequest)
			if err != nil {
				return usageErrorf("--max-request: %v", err)
			}
			cfg.maxRequest = sz.n
			if err := cfg.nats.check(); err != nil {
				return err
			}
			if cfg.id != "" {
				if err := cluster.ValidateID(cfg.id); err != nil {
					return usageErrorf("--id %s: %v", q(cfg.id), err)
				}
			}
			if cfg.wait && cfg.watch {
				return usageErrorf("--wait and --watch: give one (--watch also waits)")
			}
			if cfg.outDir != "" && !cfg.wait && !cfg.watch {
				cfg.wait = true
			}
			return a.submit(cfg)
		},
	}
	fl := cmd.Flags()
	cfg.nats.add(fl, os.Getenv(natsURLEnv))
	fl.StringVar(&cfg.id, "id", "", "the job's ID (1 to 128 of A-Z a-z 0-9 _ -); default: a new one")
	fl.BoolVarP(&cfg.wait, "wait", "w", false, "wait for the job's result and print it")
	fl.BoolVar(&cfg.watch, "watch", false, "print the job's outputs as they stream, then its result")
	fl.BoolVar(&cfg.jsonOut, "json", false, "print the result as JSON (the queue's record, with the job's outputs)")
	fl.StringVarP(&cfg.outDir, "out", "o", "", "write the job's outputs and saves under DIR (implies --wait)")
	fl.StringArrayVarP(&cfg.attach, "attach", "a", nil, "add a part NAME=FILE: spirv=FILE or bindingN=FILE (repeatable)")
	fl.StringVar(&maxRequest, "max-request", "32MiB", "largest request to send (the workers' --max-request)")
	return cmd
}

// buildJobRequest reads the job file and its attachments and makes the
// request body serve takes: the JSON alone, or multipart with the parts.
// It returns usage errors for bad input.
func buildJobRequest(x io.Io, cfg submitConfig) (contentType string, body []byte, err error) {
	var spec []byte
	if cfg.jobFile == "-" {
		spec, err = readAllMax(os.Stdin, maxJobJSON)
	} else {
		spec, err = io.Cwd().ReadFileMax(x, cfg.jobFile, maxJobJSON)
	}
	if err != nil {
		return "", nil, usageErrorf("%s: %v", cfg.jobFile, err)
	}
	if len(cfg.attach) == 0 {
		return "application/json", spec, nil
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("job")
	_, _ = w.Write(spec)
	seen := map[string]bool{}
	total := int64(len(spec))
	for _, at := range cfg.attach {
		name, file, ok := strings.Cut(at, "=")
		switch {
		case !ok || file == "":
			return "", nil, usageErrorf("--attach %s: want NAME=FILE (spirv=FILE or bindingN=FILE)", q(at))
		case name != "spirv" && !isBindingPart(name):
			return "", nil, usageErrorf("--attach %s: the parts are spirv and bindingN (N a binding number)", q(at))
		case seen[name]:
			return "", nil, usageErrorf("--attach %s: part %s given twice", q(at), name)
		}
		seen[name] = true
		if total >= cfg.maxRequest {
			return "", nil, usageErrorf("--attach %s: the job is already %d bytes, --max-request (%d) leaves no room for this part", name, total, cfg.maxRequest)
		}
		data, err := io.Cwd().ReadFileMax(x, file, cfg.maxRequest-total)
		if err != nil {
			return "", nil, usageErrorf("--attach %s: %v", name, err)
		}
		total += int64(len(data))
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, name, name+".bin"))
		h.Set("Content-Type", "application/octet-stream")
		pw, _ := mw.CreatePart(h)
		_, _ = pw.Write(data)
	}
	_ = mw.Close()
	if int64(buf.Len()) > cfg.maxRequest {
		return "", nil, usageErrorf("the job with its parts is %d bytes, more than --max-request (%d)", buf.Len(), cfg.maxRequest)
	}
	return mw.FormDataContentType(), buf.Bytes(), nil
}

// isBindingPart reports whether name is bindingN.
func isBindingPart(name string) bool {
	n, ok := strings.CutPrefix(name, "binding")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}

// readAllMax reads f whole, failing beyond max bytes.
func readAllMax(f *os.File, max int64) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(stdio.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b.Bytes(), nil
}

// checkJobRequest checks a request with serve's parser and caps, without a
// device (the worker checks the device's limits): a usage error for a job
// no worker would run.
func checkJobRequest(contentType string, body []byte, maxRequest int64, what string) error {
	s := &server{cfg: serveConfig{maxRequest: maxRequest}, savesElsewhere: true}
	r := &request{req: &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {contentType}}}, body: body, bodyRead: true}
	if _, herr := s.parseJob(r); herr != nil {
		return usageErrorf("%s: %s", what, herr.msg)
	}
	return nil
}

// submit runs `vkdemo submit`.
func (a *app) submit(cfg submitConfig) error {
	x, err := a.Io()
	if err != nil {
		return err
	}
	ct, body, err := buildJobRequest(x, cfg)
	if err != nil {
		return err
	}
	if err := checkJobRequest(ct, body, cfg.maxRequest, cfg.jobFile); err != nil {
		return err
	}
	ctx := x.Context()
	nc, err := cfg.nats.connect(ctx, "vkdemo submit", a.stderrf)
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := cluster.NewClient(ctx, nc, cfg.nats.config(nil))
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	defer c.Close()
	rc, err := c.Submit(ctx, cluster.Job{ID: cfg.id, ContentType: ct, Body: body})
	if err != nil {
		if errors.Is(err, cluster.ErrBadID) || errors.Is(err, cluster.ErrTooLarge) {
			return usageErrorf("submit: %v", err)
		}
		return fmt.Errorf("submit: %w", err)
	}
	if !cfg.wait && !cfg.watch {
		if rc.Duplicate {
			a.stderrf("vkdemo submit: job %s was already queued (or done); nothing new queued\n", rc.ID)
		}
		fmt.Fprintln(a.stdout, rc.ID)
		return nil
	}
	if rc.Duplicate {
		a.stderrf("vkdemo submit: job %s was already queued (or done); waiting for its result\n", rc.ID)
	} else {
		a.stderrf("vkdemo submit: job %s queued\n", rc.ID)
	}
	var res *cluster.Result
	if cfg.watch {
		sp := &streamPrinter{a: a}
		res, err = c.Watch(ctx, rc.ID, sp.event)
	} else {
		res, err = c.Wait(ctx, rc.ID)
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", rc.ID, err)
	}
	return a.submitResult(x, c, cfg, res)
}

// submitResult prints a job's result and writes its outputs under --out.
func (a *app) submitResult(x io.Io, c *cluster.Client, cfg submitConfig, res *cluster.Result) error {
	var data natsJobResult
	if len(res.Data) > 0 {
		if err := json.Unmarshal(res.Data, &data); err != nil {
			return fmt.Errorf("job %s: its result is not a vkdemo job's: %w", res.ID, err)
		}
	}
	if cfg.jsonOut {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(a.stdout, "%s\n", b)
	}
	if err := res.Err(); err != nil {
		return err
	}
	ctx := x.Context()
	fetch := func(name string) ([]byte, error) {
		ref, ok := res.Outputs[name]
		if !ok {
			return nil, fmt.Errorf("job %s: its result names output object %s, which it does not list", res.ID, q(name))
		}
		return c.ObjectBytes(ctx, ref)
	}
	if !cfg.jsonOut {
		fmt.Fprintf(a.stdout, "job %s: done on %s (delivery %d", res.ID, res.Worker, res.Deliveries)
		if !res.Queued.IsZero() && !res.Started.IsZero() {
			fmt.Fprintf(a.stdout, ", %.2f ms in the queue", ms(res.Started.Sub(res.Queued)))
		}
		fmt.Fprint(a.stdout, ")")
		if d := data.Done; d != nil {
			fmt.Fprintf(a.stdout, ": %s, %d iteration(s), %d×%d×%d groups, GPU %.1f µs, %.2f ms", d.Kernel, d.Iterations, d.Groups[0], d.Groups[1], d.Groups[2], d.GPUUs, d.ElapsedMs)
		}
		fmt.Fprintln(a.stdout)
	}
	var out *saveRoot
	if cfg.outDir != "" {
		// An output is written as bindingN.npy; a save of the same path
		// would replace it: refuse before writing anything.
		for _, o := range data.Outputs {
			if p := fmt.Sprintf("binding%d.npy", o.Binding); data.Saves[p] != "" {
				return fmt.Errorf("--out: the job saves %s, the name its output binding %d is written as; fetch it without --out, or save it under another name", p, o.Binding)
			}
		}
		var err error
		if out, err = openSaveRoot(x, cfg.outDir); err != nil {
			return err
		}
		defer out.close(x)
	}
	for _, o := range data.Outputs {
		vals := o.Data
		if o.Object != "" && (out != nil || !cfg.jsonOut) {
			var err error
			if vals, err = fetch(o.Object); err != nil {
				return err
			}
		}
		t, err := parseFrameType(o.Type)
		if err != nil {
			return fmt.Errorf("job %s: output binding %d: %w", res.ID, o.Binding, err)
		}
		if !cfg.jsonOut {
			fmt.Fprintf(a.stdout, "  binding %d: %s\n", o.Binding, previewValues(t, vals, 8))
		}
		if out != nil {
			p := fmt.Sprintf("binding%d.npy", o.Binding)
			if err := out.save(x, p, t, vals); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
		}
	}
	paths := make([]string, 0, len(data.Saves))
	for p := range data.Saves {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !cfg.jsonOut {
			fmt.Fprintf(a.stdout, "  saved %s (object %s)\n", p, data.Saves[p])
		}
		if out == nil {
			continue
		}
		b, err := fetch(data.Saves[p])
		if err != nil {
			return err
		}
		if err := out.put(x, p, b); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if out != nil && !cfg.jsonOut {
		fmt.Fprintf(a.stdout, "  wrote %d output(s) and %d save(s) under %s\n", len(data.Outputs), len(paths), cfg.outDir)
	}
	return nil
}

// parseFrameType parses a frame header's element type.
func parseFrameType(s string) (dtype, error) { return job.ParseDType(s) }

// previewValues is "f32 ×N: v0 v1 ... (first k)".
func previewValues(t dtype, data []byte, k int) string {
	n := len(data) / t.Size()
	var b strings.Builder
	fmt.Fprintf(&b, "%s ×%d:", t, n)
	for i := range min(n, k) {
		b.WriteString(" ")
		b.WriteString(formatElem(t, data, i))
	}
	if n > k {
		b.WriteString(" ...")
	}
	return b.String()
}

// streamPrinter prints a watched job's live output, one line per frame.
type streamPrinter struct {
	a     *app
	live  liveStream
	shown int // frames printed of the current delivery
}

func (sp *streamPrinter) event(ev cluster.Event) {
	switch sp.live.add(ev) {
	case liveNewAttempt:
		fmt.Fprintf(sp.a.stdout, "(delivery %d ended without a result; delivery %d runs the job again)\n", sp.live.attempt-1, sp.live.attempt)
		sp.shown = 0
	case liveLost:
		fmt.Fprintf(sp.a.stdout, "(live output of delivery %d missed; the result follows)\n", ev.Attempt)
	}
	// A new scan (another delivery, whose first chunk may have been
	// missed) starts over: never index past its frames.
	sp.shown = min(sp.shown, len(sp.live.scan.frames))
	for _, h := range sp.live.scan.frames[sp.shown:] {
		fmt.Fprintf(sp.a.stdout, "iter %d binding %d: %s ×%d (%d bytes)\n", h.Iter, h.Binding, h.Type, h.Count, h.Bytes)
	}
	sp.shown = len(sp.live.scan.frames)
}
