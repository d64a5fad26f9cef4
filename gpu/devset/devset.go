// Package devset is vkio's room for a machine's GPUs used together: a Set
// of open gpu.Devices (every suitable physical device, or a list; an entry
// repeated opens another logical device on the same physical device), the
// placement of work on the least-loaded healthy member, and failover: a
// member whose device is lost is taken out of placement, closed once
// nothing uses it, and the work that failed on it is retried on another
// member (Do).
//
// The package is free of cgo itself; it drives devices through package
// gpu. Like gpu it reads no environment and logs only to Options.Logger.
//
// Lavapipe is one physical device with one queue, so tests and drills get
// several members by repeating an entry (Devices: []string{"0", "0"}) and
// make members fail with gpu.Device.InjectFault.
package devset

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// MaxMembers caps the members of a Set (and the entries ParseDevices
// accepts): more logical devices than this on one machine is a mistake in
// a list, not a plan.
const MaxMembers = 64

// MaxQueuesPerDevice caps the members Options.PerQueue opens on one
// physical device.
const MaxQueuesPerDevice = 4

// Options configure Open.
type Options struct {
	// Base is the gpu.Options every member is opened with; its Device
	// field is replaced by the member's entry of Devices.
	Base gpu.Options
	// Devices lists the members, each a gpu.Options.Device spec (a decimal
	// index into gpu.Devices(), a name substring, or "" for gpu's automatic
	// choice). Repeating an entry opens another logical device on the same
	// physical device: {"0", "0"} is two members on device 0.
	//
	// Empty means every usable physical device, except that CPU devices
	// (lavapipe) are left out when any other usable device exists: a
	// software rasterizer next to a GPU would take an equal share of the
	// work and finish it last. Alone, a CPU device is used.
	Devices []string
	// PerQueue opens one member per queue of each device's compute family
	// (gpu.Options.Queue 0 to DeviceInfo.ComputeQueues-1; Base.Queue is
	// ignored), so that work submitted to different members runs on
	// different queues; the members of one device share its GPU. A device
	// with one compute queue (lavapipe) gives one member, as without it.
	// An entry repeated in Devices is expanded again. At most
	// MaxQueuesPerDevice queues of a device are used: each member is a
	// logical device (a driver context) of its own, and a GPU's 16 compute
	// queues as 16 contexts would cost memory for little more overlap.
	PerQueue bool
	// MaxAttempts bounds how many members Do tries one unit of work on
	// (the first try included). 0 means the number of members.
	MaxAttempts int
	// Logger, if not nil, records each member taken out of placement
	// (Warn). Nothing else is logged; nil logs nothing.
	Logger *slog.Logger
}

// Set is a group of open devices with placement and failover. Its methods
// are safe for concurrent use. Close it when done.
type Set struct {
	members  []*Member
	attempts int
	logger   *slog.Logger

	mu     sync.Mutex
	next   int // round-robin cursor for ties
	closed bool
}

// Member is one device of a Set.
type Member struct {
	set   *Set
	index int
	spec  string
	dev   *gpu.Device
	info  gpu.DeviceInfo

	done, failed atomic.Int64

	// under set.mu
	inFlight int
	lost     error // why the member was taken out; nil while healthy
	closing  bool  // its device is being (or has been) closed
	closeErr error // what closing the device returned
	closed   chan struct{}
}

// Stats is a snapshot of a member's counters.
type Stats struct {
	InFlight int   // acquisitions not yet released
	Done     int64 // releases with no error
	Failed   int64 // releases with an error
	// Lost is why the member was taken out of placement (errors.Is
	// gpu.ErrDeviceLost), or nil while it is healthy.
	Lost error
}

// Error is an error from package devset. It matches its Err (a gpu
// sentinel: gpu.ErrNoDevice, gpu.ErrClosed, gpu.ErrInvalid, or the error of
// the last attempt) and Last with errors.Is and errors.As.
type Error struct {
	Op     string // "open", "acquire", "do", "parse devices"
	Detail string // specifics
	Err    error  // a gpu sentinel, or the failure itself
	// Last is the last attempt's error when Do gave up (a device loss),
	// nil otherwise.
	Last error
}

// Error formats the operation, the details and the causes.
func (e *Error) Error() string {
	s := "devset: " + e.Op
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	if e.Last != nil {
		s += "; last attempt: " + e.Last.Error()
	}
	return s
}

// Unwrap returns Err and Last.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.Last != nil {
		out = append(out, e.Last)
	}
	return out
}

// Open opens the members Options name (see Options.Devices), in order:
// member i is Devices[i] (with PerQueue, each entry's queues in order). It
// fails, closing what it opened, if any member cannot be opened, with
// gpu.ErrInvalid for more than MaxMembers members, and with
// gpu.ErrNoDevice when no usable device exists.
func Open(opts Options) (*Set, error) {
	specs := opts.Devices
	if len(specs) > MaxMembers {
		return nil, &Error{Op: "open", Detail: fmt.Sprintf("%d devices listed; at most %d", len(specs), MaxMembers), Err: gpu.ErrInvalid}
	}
	if opts.MaxAttempts < 0 {
		return nil, &Error{Op: "open", Detail: fmt.Sprintf("MaxAttempts %d: want 0 (one per member) or more", opts.MaxAttempts), Err: gpu.ErrInvalid}
	}
	if len(specs) == 0 {
		var err error
		if specs, err = suitable(); err != nil {
			return nil, err
		}
	}
	s := &Set{logger: opts.Logger, attempts: opts.MaxAttempts}
	for _, spec := range specs {
		o := opts.Base
		o.Device = spec
		for q := 0; ; q++ {
			if len(s.members) == MaxMembers {
				s.Close()
				return nil, &Error{Op: "open", Detail: fmt.Sprintf("more than %d members (PerQueue over %d devices)", MaxMembers, len(specs)), Err: gpu.ErrInvalid}
			}
			if opts.PerQueue {
				o.Queue = q
			}
			d, err := gpu.Open(o)
			if err != nil {
				s.Close()
				return nil, &Error{Op: "open", Detail: fmt.Sprintf("member %d (device %q, queue %d)", len(s.members), spec, o.Queue), Err: err}
			}
			s.members = append(s.members, &Member{set: s, index: len(s.members), spec: spec, dev: d, info: d.Info(), closed: make(chan struct{})})
			if !opts.PerQueue || q+1 >= min(d.Info().ComputeQueues, MaxQueuesPerDevice) {
				break
			}
		}
	}
	if s.attempts == 0 {
		s.attempts = len(s.members)
	}
	return s, nil
}

// suitable lists every usable physical device by index, leaving out CPU
// devices when another kind is usable.
func suitable() ([]string, error) {
	infos, err := gpu.Devices()
	if err != nil {
		return nil, &Error{Op: "open", Detail: "listing devices", Err: err}
	}
	var gpus, cpus, all []string
	for _, in := range infos {
		all = append(all, in.String())
		if !in.Usable {
			continue
		}
		if in.Type == gpu.CPU {
			cpus = append(cpus, fmt.Sprint(in.Index))
		} else {
			gpus = append(gpus, fmt.Sprint(in.Index))
		}
	}
	if len(gpus) > 0 {
		return gpus, nil
	}
	if len(cpus) > 0 {
		return cpus, nil
	}
	return nil, &Error{Op: "open", Detail: "no usable device; devices: " + strings.Join(all, "; "), Err: gpu.ErrNoDevice}
}

// Members returns the members in index order, taken-out ones included.
func (s *Set) Members() []*Member { return append([]*Member(nil), s.members...) }

// Len returns the number of members, taken-out ones included.
func (s *Set) Len() int { return len(s.members) }

// Healthy returns how many members are still in placement.
func (s *Set) Healthy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthyLocked()
}

func (s *Set) healthyLocked() int {
	n := 0
	for _, m := range s.members {
		if m.lost == nil {
			n++
		}
	}
	return n
}

// Acquire places one unit of work: it returns the healthy member with the
// fewest acquisitions in flight (ties go round-robin), counting this one.
// Release it when the work is done. A member whose device reports Lost is
// taken out here. Acquire fails with an *Error matching gpu.ErrNoDevice when
// every member is lost, gpu.ErrClosed after Close, and io.ErrCanceled when
// x is canceled.
func (s *Set) Acquire(x io.Io) (*Member, error) {
	if err := x.CheckCancel(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &Error{Op: "acquire", Detail: "the set is closed", Err: gpu.ErrClosed}
	}
	var best *Member
	var toClose []*Member
	n := len(s.members)
	for i := 0; i < n; i++ {
		m := s.members[(s.next+i)%n]
		if m.lost == nil {
			if err := m.dev.Lost(); err != nil {
				s.takeOutLocked(m, err)
				if m.closeNowLocked() {
					toClose = append(toClose, m)
				}
			}
		}
		if m.lost != nil {
			continue
		}
		if best == nil || m.inFlight < best.inFlight {
			best = m
		}
	}
	var err *Error
	if best != nil {
		best.inFlight++
		s.next = (best.index + 1) % n
	} else {
		err = s.noDeviceLocked()
	}
	s.mu.Unlock()
	for _, m := range toClose {
		m.closeDevice()
	}
	if err != nil {
		return nil, err
	}
	return best, nil
}

func (s *Set) noDeviceLocked() *Error {
	var why []string
	for _, m := range s.members {
		why = append(why, fmt.Sprintf("member %d: %v", m.index, m.lost))
	}
	return &Error{Op: "acquire", Detail: fmt.Sprintf("all %d members are lost: %s", len(s.members), strings.Join(why, "; ")), Err: gpu.ErrNoDevice}
}

// takeOutLocked takes m out of placement for err. The caller holds s.mu
// and closes the device when closeNowLocked says so.
func (s *Set) takeOutLocked(m *Member, err error) {
	if m.lost != nil {
		return
	}
	m.lost = err
	if s.logger != nil {
		s.logger.Warn("devset: member taken out", "member", m.index, "device", m.info.String(),
			"in_flight", m.inFlight, "err", err)
	}
}

// closeNowLocked marks m's device for closing when it is lost, the set is
// not closing it already and nothing uses it. The caller holds s.mu.
func (m *Member) closeNowLocked() bool {
	if m.lost == nil || m.inFlight > 0 || m.closing {
		return false
	}
	m.closing = true
	return true
}

// closeDevice closes the member's device; only the caller that set
// m.closing calls it.
func (m *Member) closeDevice() {
	err := m.dev.Close()
	m.set.mu.Lock()
	m.closeErr = err
	m.set.mu.Unlock()
	close(m.closed)
}

// Release ends one acquisition of m and records its outcome: nil counts as
// done, an error as failed. An error matching gpu.ErrDeviceLost, or a
// device that reports Lost, takes the member out of placement; its device
// is closed by the last Release. It reports whether m is taken out (now or
// before).
func (m *Member) Release(err error) (lost bool) {
	if err == nil {
		m.done.Add(1)
	} else {
		m.failed.Add(1)
	}
	cause := m.dev.Lost()
	if cause == nil && errors.Is(err, gpu.ErrDeviceLost) {
		cause = err
	}
	s := m.set
	s.mu.Lock()
	if m.inFlight > 0 {
		m.inFlight--
	}
	if cause != nil {
		s.takeOutLocked(m, cause)
	}
	closeNow := m.closeNowLocked()
	lost = m.lost != nil
	s.mu.Unlock()
	if closeNow {
		m.closeDevice()
	}
	return lost
}

// Index returns the member's index in the set (its entry of Devices).
func (m *Member) Index() int { return m.index }

// Spec returns the device spec the member was opened with.
func (m *Member) Spec() string { return m.spec }

// Device returns the member's device. Objects made on it are closed with
// it when the member is taken out and nothing uses it any more.
func (m *Member) Device() *gpu.Device { return m.dev }

// Info describes the member's physical device.
func (m *Member) Info() gpu.DeviceInfo { return m.info }

// Queue returns the index of the compute queue the member's device
// submits to (see Options.PerQueue).
func (m *Member) Queue() int { return m.dev.Queue() }

// String formats the member as "member N: #index name (...)", with
// ", queue Q" for a queue other than the first.
func (m *Member) String() string {
	if q := m.Queue(); q > 0 {
		return fmt.Sprintf("member %d: %s, queue %d", m.index, m.info, q)
	}
	return fmt.Sprintf("member %d: %s", m.index, m.info)
}

// Stats returns the member's counters.
func (m *Member) Stats() Stats {
	m.set.mu.Lock()
	defer m.set.mu.Unlock()
	return Stats{InFlight: m.inFlight, Done: m.done.Load(), Failed: m.failed.Load(), Lost: m.lost}
}

// Close closes every member's device (waiting for work submitted to them;
// work still running on them then fails with gpu.ErrClosed) and returns
// the first error a close returned, taken-out members' included. Acquire
// fails after it. A second Close returns nil.
func (s *Set) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var mine, others []*Member
	for _, m := range s.members {
		if m.closing {
			others = append(others, m)
		} else {
			m.closing = true
			mine = append(mine, m)
		}
	}
	s.mu.Unlock()
	for _, m := range mine {
		m.closeDevice()
	}
	var errs []error
	for _, m := range s.members {
		<-m.closed
		s.mu.Lock()
		if m.closeErr != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", m.index, m.closeErr))
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Do runs fn on the least-loaded healthy member of s and returns its
// result. When fn fails with an error matching gpu.ErrDeviceLost, the
// member is taken out and fn runs again on another member, up to
// Options.MaxAttempts tries in all; fn must therefore make everything it
// uses on the member it is handed. Any other error, and cancellation
// (io.ErrCanceled) always, is returned as it is, without a retry: fn that
// must not run again after a loss (it has had effects outside, such as
// output sent) returns an error that does not match gpu.ErrDeviceLost
// (the member is still taken out when its device reports Lost). A result
// fn returned without error is final: fn never runs again for it.
//
// When tries run out, or no healthy member is left, Do fails with an *Error
// whose Last is the last try's error.
func Do[T any](x io.Io, s *Set, fn func(x io.Io, m *Member) (T, error)) (T, error) {
	var zero T
	var last error
	for try := 0; ; try++ {
		if try == s.attempts {
			s.mu.Lock()
			if s.healthyLocked() == 0 {
				e := s.noDeviceLocked()
				s.mu.Unlock()
				e.Last = last
				return zero, e
			}
			s.mu.Unlock()
			return zero, &Error{Op: "do", Detail: fmt.Sprintf("gave up after %d tries", try), Err: gpu.ErrDeviceLost, Last: last}
		}
		m, err := s.Acquire(x)
		if err != nil {
			var e *Error
			if last != nil && errors.As(err, &e) {
				e.Last = last
			}
			return zero, err
		}
		v, err := fn(x, m)
		lost := m.Release(err)
		if err == nil {
			return v, nil
		}
		if !lost || !errors.Is(err, gpu.ErrDeviceLost) || errors.Is(err, io.ErrCanceled) || x.Canceled() {
			return zero, err
		}
		last = err
	}
}
