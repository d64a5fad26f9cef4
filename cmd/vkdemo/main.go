// Command vkdemo is vkio's command-line tool: GPU demos, device listings and
// compute-shader experiments, with every wait going through one io.Io.
//
// # CLI framework: cobra
//
// vkdemo uses github.com/spf13/cobra (with spf13/pflag) rather than the
// standard flag package, because it needs:
//   - subcommands (pipeline, bench, devices, run) each with its own flags,
//     help text and examples, plus global flags (--io, --device) shared by all;
//   - flags after positional arguments (`vkdemo run saxpy.comp --bind 0=rand:1M`),
//     which the flag package stops parsing at;
//   - GNU-style long flags, repeatable flags (--bind, --out, --spec) and
//     "did you mean" suggestions for mistyped commands.
//
// # Profiling
//
// The global flags --cpuprofile FILE, --memprofile FILE and --exectrace FILE
// write Go's CPU profile, allocation profile and execution trace of any
// command, atomically, when it ends (also on an error or the first Ctrl-C).
// The CPU profile's samples carry package tasks' pprof labels (stage, frame,
// task): `go tool pprof -tagfocus stage=encode FILE`.
//
// Cobra's own error printing and usage dumps are switched off: main prints one
// line, "vkdemo: <problem>", and maps the error to the exit status.
//
// # Exit status
//
//	0    success (also: `run --watch` ended with Ctrl-C)
//	1    runtime failure (device, shader compilation, files, validation messages)
//	2    usage error (unknown command, flag or value; see each command's --help)
//	130  interrupted by SIGINT/SIGTERM (a one-shot command cut short)
//
// # Adding a command
//
// Each command lives in its own file and registers itself from an init
// function:
//
//	func init() { register(newBenchCmd) }
//
//	func newBenchCmd(a *app) *cobra.Command { ... RunE: func(...) error { x := a.Io(); ... } }
//
// app gives commands the Io (built from --io, canceled on Ctrl-C), the device
// (opened from --device, with validation gating) and the output streams. A
// command registered under the name "pipeline" also runs when vkdemo is given
// no command at all.
package main

import (
	"context"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// defaultCommand is the command that runs when vkdemo gets no command.
const defaultCommand = "pipeline"

// registry holds the constructors of the subcommands, filled by init
// functions of the command files.
var registry []func(*app) *cobra.Command

// register adds a subcommand constructor; call it from an init function.
func register(newCmd func(*app) *cobra.Command) { registry = append(registry, newCmd) }

func main() {
	// The first SIGINT or SIGTERM cancels the command's Io; a second one
	// ends the process at once with status 130 (also where the signal was
	// inherited as ignored, as in a shell's background job, so that the
	// default action would do nothing).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
		<-sigs
		finishActiveProfiles()
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(code)
}

// run executes the command line args and returns the exit status. Canceling
// ctx cancels the command's Io.
func run(ctx context.Context, args []string, stdout, stderr stdio.Writer) int {
	a := &app{ctx: ctx, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(withDefaultCommand(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	setActiveProfiles(&a.prof)
	defer setActiveProfiles(nil)
	err := root.ExecuteContext(ctx)
	err = errors.Join(err, a.close())
	// After close: the profiles cover releasing the device too.
	err = errors.Join(err, a.prof.finish())
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitInterrupted {
		var ae *abandonedError
		if errors.As(err, &ae) {
			fmt.Fprintf(stderr, "vkdemo: interrupted: %v\n", ae)
		} else {
			fmt.Fprintln(stderr, "vkdemo: interrupted")
		}
		return code
	}
	fmt.Fprintf(stderr, "vkdemo: %s\n", errorText(err))
	return code
}

// newRootCmd builds the command tree.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "vkdemo",
		Short: "GPU work as just another kind of I/O",
		Long: `vkdemo runs vkio's GPU demos and compute-shader experiments on Vulkan
(Mesa's lavapipe where there is no GPU). Every wait — GPU fences, file
writes, timers — goes through one io.Io, chosen with --io.

With no command, vkdemo runs the pipeline demo: 'vkdemo --frames 8' is
'vkdemo pipeline --frames 8'.

Exit status: 0 ok, 1 runtime failure, 2 usage error, 130 interrupted.
Environment: VKIO_DEVICE (default for --device), VKIO_VALIDATION=1 (Khronos
validation layer on; any message it reports makes the command fail).`,
		Example: `  vkdemo                      # the pipeline demo: PNGs, trace and timeline in ./vkdemo-out
  vkdemo bench                # the same work on every Io implementation, compared
  vkdemo devices
  vkdemo run shaders/saxpy.comp --bind 0=rand:1M --bind 1=iota --push f32:2,u32:1048576 --out 1=y.npy
  vkdemo --io blocking run shader.spv --help`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usageErrorf("%s; see 'vkdemo --help'", msg)
		},
		// Reached only when no default command is registered (see
		// withDefaultCommand).
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SuggestionsMinimumDistance = 2
	pf := root.PersistentFlags()
	pf.StringVar(&a.ioName, "io", "", "Io implementation: blocking, threaded or evented (default: the best available)")
	pf.StringVar(&a.deviceSpec, "device", "", "Vulkan device: index or case-insensitive name substring (default: $VKIO_DEVICE, else the best)")
	a.prof.addFlags(pf)
	// Every command starts the profiles asked for; run finishes them.
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error { return a.prof.start() }
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%s%v; see '%s --help'", cmdPrefix(cmd), err, cmd.CommandPath())
	})
	for _, newCmd := range registry {
		c := newCmd(a)
		c.SilenceErrors, c.SilenceUsage = true, true
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		c.Args = usageArgs(c.Args)
		root.AddCommand(c)
	}
	return root
}

// withDefaultCommand returns args with the default command inserted when args
// name no command, so that `vkdemo --frames 3` means `vkdemo pipeline
// --frames 3`. A help request (-h, --help) with only global flags is left to
// the root, which lists the commands; with flags of the default command
// (`vkdemo --frames 3 --help`) it shows the default command's help. Without a
// registered default command, args are returned as they are.
func withDefaultCommand(root *cobra.Command, args []string) []string {
	def, _, err := root.Find([]string{defaultCommand})
	if err != nil || def == root {
		return args
	}
	help, local := false, false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-h" || arg == "--help":
			help = true
		case arg == "--":
			i = len(args)
		case !strings.HasPrefix(arg, "-"):
			return args // a command (or an unknown one, reported as such)
		default:
			if !isGlobalFlag(root, arg) {
				local = true
			}
			if takesValue(root, def, arg) && i+1 < len(args) {
				i++ // the flag's value, as in --frames 4 or --io blocking
			}
		}
	}
	if help && !local {
		return args
	}
	return append([]string{defaultCommand}, args...)
}

// isGlobalFlag reports whether arg ("--io", "--device=0") is a flag of the
// root command.
func isGlobalFlag(root *cobra.Command, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if strings.HasPrefix(arg, "--") {
		return root.PersistentFlags().Lookup(name) != nil
	}
	return len(name) == 1 && root.PersistentFlags().ShorthandLookup(name) != nil
}

// takesValue reports whether arg is a flag of def (or a global flag of root)
// written without "=" that takes a value in the next argument: "--frames",
// "-n", not "--json" or "--frames=4".
func takesValue(root, def *cobra.Command, arg string) bool {
	if !strings.HasPrefix(arg, "-") || arg == "-" || strings.Contains(arg, "=") {
		return false
	}
	lookup := func(fs *pflag.FlagSet) *pflag.Flag {
		if name, long := strings.CutPrefix(arg, "--"); long {
			return fs.Lookup(name)
		}
		if len(arg) != 2 { // -n4 or grouped shorthands carry their value
			return nil
		}
		return fs.ShorthandLookup(arg[1:])
	}
	f := lookup(def.Flags())
	if f == nil {
		f = lookup(root.PersistentFlags())
	}
	return f != nil && f.NoOptDefVal == ""
}

// usageArgs wraps a cobra argument validator so that its errors are usage
// errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageErrorf("%s%v; see '%s --help'", cmdPrefix(cmd), err, cmd.CommandPath())
		}
		return nil
	}
}

// cmdPrefix is "NAME: " for a subcommand, "" for the root, to start an error
// message (main prefixes "vkdemo: ").
func cmdPrefix(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return ""
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") + ": "
}

// app is what every command shares: the global flags, the Io, the device and
// the output streams. Its resources are created on first use and released by
// close when the command returns.
type app struct {
	ctx            context.Context
	stdout, stderr stdio.Writer
	ioName         string   // --io
	deviceSpec     string   // --device
	prof           profiles // --cpuprofile, --memprofile, --exectrace

	backend io.Backend
	x       io.Io
	cancel  context.CancelFunc

	dev  *gpu.Device
	gate validationGate
	// staging is the pipeline's --transfer-queue and --force-staging,
	// applied to the device options.
	staging stagingFlags

	// run --timeout, for messages about it.
	timeout    time.Duration
	timeoutCtx context.Context
	// gpuAbandoned: a dispatch was given up while the GPU ran it (see
	// waitDispatch); the device is not closed (that would wait for it), the
	// process exit frees it.
	gpuAbandoned bool
}

// Io returns the command's Io: the implementation named by --io, canceled when
// the process gets SIGINT or SIGTERM. A bad --io value is a usage error.
func (a *app) Io() (io.Io, error) {
	if a.backend != nil {
		return a.x, nil
	}
	b, err := io.New(a.ioName)
	if err != nil {
		if errors.Is(err, io.ErrInvalid) {
			return io.Io{}, usageErrorf("--io %q: unknown Io implementation (want one of: %s)", a.ioName, kindNames())
		}
		return io.Io{}, fmt.Errorf("--io %s: %w", a.ioName, err)
	}
	if why := io.FallbackReason(); why != nil && b.Kind() == io.KindThreaded {
		a.stderrf("vkdemo: io_uring unavailable (%v); using the threaded Io\n", why)
	}
	a.backend = b
	a.x, a.cancel = b.Io().WithContext(a.ctx)
	return a.x, nil
}

// kindNames lists the Io implementations io.New accepts.
func kindNames() string {
	var s []string
	for _, k := range io.Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// Device opens the device named by --device (or VKIO_DEVICE), once. With the
// validation layer on (VKIO_VALIDATION=1) every message is recorded, and the
// command fails at the end if there was any.
func (a *app) Device() (*gpu.Device, error) {
	if a.dev != nil {
		return a.dev, nil
	}
	d, err := gpu.Open(a.gpuOptions())
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && a.deviceSpecOrEnv() != "" {
			return nil, usageErrorf("%s: %v; see 'vkdemo devices'", a.deviceSource(), err)
		}
		return nil, err
	}
	a.dev = d
	return d, nil
}

// gpuOptions maps the command line and the environment into gpu.Options
// (package gpu reads no environment itself): --device, else VKIO_DEVICE,
// names the device; VKIO_VALIDATION=1 turns the validation layer on, and
// its messages go to the gate.
func (a *app) gpuOptions() gpu.Options {
	opts := gpu.OptionsFromEnv()
	if a.deviceSpec != "" {
		opts.Device = a.deviceSpec
	}
	opts.AppName = "vkdemo"
	opts.OnMessage = a.gate.add
	a.staging.apply(&opts)
	return opts
}

// deviceSpecOrEnv is the device named by --device or VKIO_DEVICE, "" for
// automatic.
func (a *app) deviceSpecOrEnv() string { return a.gpuOptions().Device }

// deviceSource names where the device choice came from, with its value, for
// error messages: --device "x" or VKIO_DEVICE="x".
func (a *app) deviceSource() string {
	if a.deviceSpec != "" {
		return fmt.Sprintf("--device %q", a.deviceSpec)
	}
	return fmt.Sprintf("VKIO_DEVICE=%q", a.deviceSpecOrEnv())
}

// close releases the device and the Io, and reports validation messages.
func (a *app) close() error {
	var errs []error
	if a.gpuAbandoned {
		a.dev = nil
	}
	if a.dev != nil {
		if err := a.dev.Close(); err != nil {
			errs = append(errs, err)
		}
		a.dev = nil
	}
	if err := a.gate.check(); err != nil {
		errs = append(errs, err)
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.backend != nil {
		if err := a.backend.Close(); err != nil {
			errs = append(errs, err)
		}
		a.backend = nil
	}
	return errors.Join(errs...)
}

// validationGate records validation-layer messages.
type validationGate struct {
	mu       sync.Mutex
	msgs     []gpu.Message
	reported int // messages already turned into errors by take
}

func (g *validationGate) add(m gpu.Message) {
	g.mu.Lock()
	g.msgs = append(g.msgs, m)
	g.mu.Unlock()
}

// take returns an error quoting the messages that arrived since the last call
// to take, or nil.
func (g *validationGate) take() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	fresh := g.msgs[g.reported:]
	g.reported = len(g.msgs)
	if len(fresh) == 0 {
		return nil
	}
	return &validationError{first: fresh[0], n: len(fresh)}
}

// check returns an error if any message was recorded and not yet taken.
func (g *validationGate) check() error { return g.take() }

// validationError reports validation-layer messages.
type validationError struct {
	first gpu.Message
	n     int
}

func (e *validationError) Error() string {
	return fmt.Sprintf("the Vulkan validation layer reported %d message(s); first: %s", e.n, e.first)
}

// usageError marks an error in how vkdemo was called: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCode maps an error to the process exit status.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, gpu.ErrBadSPIRV), errors.Is(err, gpu.ErrLimit):
		// The shader or the request is at fault, found before anything ran.
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitFailure
	}
}

// errorText formats err for the one-line report: joined errors are put on one
// line, and Go's "io: " / "gpu: " package prefixes stay as they are.
func errorText(err error) string {
	s := err.Error()
	// errors.Join separates with newlines; keep the first line the headline
	// and the rest (compiler messages) below it, indented.
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) == 1 {
		return s
	}
	var b strings.Builder
	b.WriteString(lines[0])
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	return b.String()
}

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[uint32]V) []uint32 {
	ks := make([]uint32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// flagChanged reports whether the named flag was set on the command line.
func flagChanged(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}
