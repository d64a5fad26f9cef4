package tasks

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/io"
)

// Func is the body of a task. It runs with the task's own Io: blocking
// operations through it are cancel points, and x.Context() bridges to
// libraries that take a context.Context.
type Func func(x io.Io) error

// State is where a task stands.
type State int

// Task states.
const (
	Pending  State = iota // not started
	Running               // started
	Done                  // finished without error
	Failed                // returned an error or panicked
	Skipped               // never ran: a dependency failed, or the run stopped first
	Canceled              // ran and stopped because the run was canceled
)

var stateNames = [...]string{"pending", "running", "done", "failed", "skipped", "canceled"}

// String names the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Policy says what a failure stops.
type Policy int

// Failure policies.
const (
	// CancelAll: the first failure cancels every running task and skips
	// every task not yet started. The default.
	CancelAll Policy = iota
	// CancelDependents: a failure skips only the tasks that depend on the
	// failed one, directly or not; independent work goes on.
	CancelDependents
)

// Task is a node of a Graph. Its accessors report its outcome once the run
// has returned.
type Task struct {
	g          *Graph
	id         int
	name       string
	fn         Func
	deps       []*Task
	dependents []*Task
	needs      []need
	res        Resource
	lane       string

	state      State
	err        error
	start, end time.Time
}

type need struct {
	s *Semaphore
	n int64
}

// Name returns the task's name.
func (t *Task) Name() string { return t.name }

// State returns the task's state.
func (t *Task) State() State { return t.state }

// Err returns the task's error: nil if it succeeded, an *Error otherwise.
func (t *Task) Err() error { return t.err }

// Elapsed returns how long the task's body ran (with its resources held).
func (t *Task) Elapsed() time.Duration { return t.end.Sub(t.start) }

// Option configures a task.
type Option func(*Task)

// After makes the task start only once every one of deps has succeeded.
func After(deps ...*Task) Option {
	return func(t *Task) { t.deps = append(t.deps, deps...) }
}

// Needs makes the task hold n of s while its body runs. Several Needs are
// acquired in one global order, so tasks needing the same limits in different
// orders cannot deadlock.
func Needs(s *Semaphore, n int64) Option {
	return func(t *Task) { t.needs = append(t.needs, need{s, n}) }
}

// On sets the resource class the task's span is recorded on (default CPU).
func On(res Resource) Option { return func(t *Task) { t.res = res } }

// Lane sets the trace lane of the task's span (default: packed automatically).
func Lane(name string) Option { return func(t *Task) { t.lane = name } }

// Graph is a set of tasks with dependencies (a DAG), run once by Run.
// Build it from one goroutine; Run it once.
type Graph struct {
	tasks []*Task
	ran   bool
}

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{} }

// Add adds a task named name with body fn and returns it. Dependencies
// (After) must be tasks of the same graph.
func (g *Graph) Add(name string, fn Func, opts ...Option) *Task {
	t := &Task{g: g, id: len(g.tasks), name: name, fn: fn, res: CPU}
	for _, o := range opts {
		o(t)
	}
	slices.SortStableFunc(t.needs, func(a, b need) int {
		switch {
		case a.s.id < b.s.id:
			return -1
		case a.s.id > b.s.id:
			return 1
		}
		return 0
	})
	g.tasks = append(g.tasks, t)
	return t
}

// Tasks returns the tasks in the order they were added.
func (g *Graph) Tasks() []*Task { return slices.Clone(g.tasks) }

// RunOptions configure Graph.Run.
type RunOptions struct {
	Policy Policy
	// Recorder, if set, receives a span per task.
	Recorder *Recorder
	// MaxParallel bounds the tasks started and not finished; 0: no bound
	// beyond the Io's own (Async runs inline when its pool is saturated).
	MaxParallel int
	// OnTask, if set, is called after each task finishes, from the goroutine
	// that called Run, one call at a time. A panic in it is recovered and
	// stops the run (see the package documentation).
	OnTask func(t *Task)
}

// Run runs the graph through x: every task starts (with Async) once its
// dependencies have succeeded and then acquires its Needs. Under a Blocking
// Io the tasks run one at a time in a topological order (ready tasks in the
// order they were added); under Threaded and Evented Ios independent tasks
// overlap.
//
// Failures follow opts.Policy, applied by the same code as a Pipeline's:
// the error returned is an *Error for the first failure (its Task names it),
// or, if x was canceled, an *Error wrapping io.ErrCanceled. Run returns only after every task it started has finished:
// it leaks nothing, whatever happens. A panic in a task is recovered (see the
// package documentation). The report covers the tasks' spans.
func (g *Graph) Run(x io.Io, opts RunOptions) (Report, error) {
	if g.ran {
		return Report{}, &Error{Op: "run", Frame: -1, Err: fmt.Errorf("%w: a graph runs once", ErrInvalid)}
	}
	g.ran = true
	if err := g.check(); err != nil {
		return Report{}, err
	}
	host0, _ := hostCPU()
	cpu0, start := cpuNow(), time.Now()
	rx, cancel := x.WithCancel()
	defer cancel()
	m := &meter{}
	r := &graphRun{g: g, opts: opts, m: m, done: io.NewQueue[*Task](len(g.tasks))}
	pol := &failures{policy: opts.Policy, run: rx, stop: cancel}
	stopSampling := opts.Recorder.StartSampling(DefaultSampleInterval,
		Gauge{"tasks running", func() float64 { return float64(r.running.Load()) }})
	defer stopSampling()
	indeg, ready := g.roots()
	var grp io.Group
	running, finished := 0, 0
	stopping := false
	parentCanceled := false
	skip := func(t *Task, why error) {
		// t and everything depending on it never run.
		stack := []*Task{t}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if u.state != Pending {
				continue
			}
			u.state = Skipped
			u.err = &Error{Op: "task", Task: u.name, Frame: -1, Err: fmt.Errorf("%w: %v", ErrSkipped, why)}
			finished++
			stack = append(stack, u.dependents...)
		}
	}
	for finished < len(g.tasks) {
		for len(ready) > 0 && !stopping && (opts.MaxParallel <= 0 || running < opts.MaxParallel) {
			t := ready[0]
			ready = ready[1:]
			if t.state != Pending {
				continue
			}
			t.state = Running
			running++
			grp.Async(rx, func(tx io.Io) error {
				r.exec(tx, t)
				// Room is guaranteed: the queue holds every task.
				return r.done.PutOne(tx.WithoutCancel(), t)
			})
			if r.done.Len() > 0 {
				// It ran inline (Blocking, or a saturated pool): handle
				// its outcome before starting more.
				break
			}
		}
		if stopping {
			for _, t := range ready {
				skip(t, errStopped)
			}
			ready = nil
		}
		if running == 0 {
			// Nothing can make progress: what is left was skipped.
			for _, t := range g.tasks {
				if t.state == Pending {
					skip(t, errStopped)
				}
			}
			break
		}
		wx := x
		if stopping {
			wx = x.WithoutCancel()
		}
		t, err := r.done.GetOne(wx)
		if err != nil {
			// The caller canceled the run: stop everything, then drain.
			parentCanceled = true
			stopping = true
			cancel()
			continue
		}
		running--
		finished++
		if t.err == nil {
			t.state = Done
			for _, d := range t.dependents {
				indeg[d.id]--
				if indeg[d.id] == 0 && d.state == Pending {
					ready = append(ready, d)
				}
			}
		} else {
			switch pol.add(t.err, -1, t.name) {
			case canceledRun:
				t.state = Canceled
				if x.Canceled() {
					parentCanceled = true
					stopping = true
				}
			case failedStop:
				stopping = true
				fallthrough
			case failedAlone:
				t.state = Failed
				for _, d := range t.dependents {
					skip(d, fmt.Errorf("dependency %q failed", t.name))
				}
			}
		}
		if opts.OnTask != nil {
			if err := protect(func() error { opts.OnTask(t); return nil }); err != nil {
				pol.hookFailed(&Error{Op: "progress", Task: t.name, Frame: -1, Err: err}, -1, t.name)
				stopping = true
			}
		}
	}
	// Every member has put its task; wait for their goroutines to end.
	_ = grp.Wait(x.WithoutCancel())
	stopSampling()
	first, errs, failed := pol.result()
	rep := Report{Io: x.String(), graph: true, Failed: failed, Errors: errs}
	for _, t := range g.tasks {
		switch t.state {
		case Done:
			rep.Tasks++
		case Failed:
		default:
			rep.Canceled++
		}
	}
	m.fill(&rep, time.Since(start))
	var host time.Duration
	if host0 > 0 {
		h, _ := hostCPU()
		host = max(h-host0, 0)
	}
	rep.setBound(BoundInput{CPUTime: max(cpuNow()-cpu0, 0), HostCPUTime: host})
	rep.Peak = r.peaks()
	if first != nil {
		return rep, first
	}
	if parentCanceled {
		return rep, &Error{Op: "run", Frame: -1, Err: io.ErrCanceled}
	}
	return rep, nil
}

var errStopped = errors.New("the run stopped")

type graphRun struct {
	g    *Graph
	opts RunOptions
	m    *meter
	done *io.Queue[*Task]
	// running counts bodies running, for the "tasks running" counter.
	running atomic.Int64
}

func (r *graphRun) peaks() map[string]int64 {
	var p map[string]int64
	for _, t := range r.g.tasks {
		for _, n := range t.needs {
			if n.s == nil {
				continue
			}
			if p == nil {
				p = map[string]int64{}
			}
			p[n.s.Name()] = n.s.Peak()
		}
	}
	return p
}

// exec acquires t's needs, runs its body and releases them, setting t.err.
func (r *graphRun) exec(x io.Io, t *Task) {
	held := 0
	defer func() {
		for _, n := range t.needs[:held] {
			n.s.Release(n.n)
		}
	}()
	for _, n := range t.needs {
		if err := n.s.Acquire(x, n.n); err != nil {
			t.err = &Error{Op: "task", Task: t.name, Frame: -1, Err: err}
			return
		}
		held++
	}
	t.start = time.Now()
	var err error
	r.running.Add(1)
	defer r.running.Add(-1)
	pprof.Do(context.Background(), pprof.Labels(LabelTask, t.name), func(context.Context) {
		err = protect(func() error { return t.fn(x) })
	})
	t.end = time.Now()
	sp := Span{Res: t.res, Lane: t.lane, Name: t.name, Start: t.start, End: t.end, Frame: -1}
	r.m.add(sp)
	r.opts.Recorder.Add(sp)
	if err != nil {
		t.err = &Error{Op: "task", Task: t.name, Frame: -1, Err: err}
	}
}

// roots returns each task's count of dependencies (by id) and the tasks
// with none, in the order they were added.
func (g *Graph) roots() (indeg []int, ready []*Task) {
	indeg = make([]int, len(g.tasks))
	for _, t := range g.tasks {
		indeg[t.id] = len(t.deps)
		if indeg[t.id] == 0 {
			ready = append(ready, t)
		}
	}
	return indeg, ready
}

// check validates dependencies and rejects cycles.
func (g *Graph) check() error {
	for _, t := range g.tasks {
		t.dependents = nil
	}
	for _, t := range g.tasks {
		for _, d := range t.deps {
			if d == nil || d.g != g {
				return &Error{Op: "run", Task: t.name, Frame: -1, Err: fmt.Errorf("%w: a dependency is nil or of another graph", ErrCycle)}
			}
			d.dependents = append(d.dependents, t)
		}
		for _, n := range t.needs {
			if n.s != nil && (n.n < 0 || n.n > n.s.Cap()) {
				return &Error{Op: "run", Task: t.name, Frame: -1, Err: fmt.Errorf("%w: needs %d of a limit of %d", ErrLimit, n.n, n.s.Cap())}
			}
		}
	}
	indeg, q := g.roots()
	seen := 0
	for len(q) > 0 {
		t := q[0]
		q = q[1:]
		seen++
		for _, d := range t.dependents {
			if indeg[d.id]--; indeg[d.id] == 0 {
				q = append(q, d)
			}
		}
	}
	if seen != len(g.tasks) {
		for _, t := range g.tasks {
			if indeg[t.id] > 0 {
				return &Error{Op: "run", Task: t.name, Frame: -1, Err: ErrCycle}
			}
		}
	}
	return nil
}
