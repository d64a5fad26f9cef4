package main

// The pipeline's GPU stage over a device set (--devices): each frame is
// placed on the least-loaded member and all its GPU work (the dispatch, the
// read-back) runs there; a frame whose member is lost runs again on
// another, so the pipeline sees every frame once.

import (
	"errors"
	"fmt"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// setDispatcher is a tasks.Dispatcher over a device set: one Julia
// dispatcher (kernel and slot buffers) per member.
type setDispatcher struct {
	set   *devset.Set
	disps []*demo.JuliaDispatcher // by member index
	size  int
}

var _ tasks.Dispatcher = (*setDispatcher)(nil)

func newSetDispatcher(s *devset.Set, slots int, mem gpu.Memory, params func(frame int) demo.JuliaParams) (*setDispatcher, error) {
	sd := &setDispatcher{set: s}
	for _, m := range s.Members() {
		d, err := demo.NewJuliaDispatcherIn(m.Device(), slots, mem, params)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%v: %w", m, err), sd.Close())
		}
		sd.disps = append(sd.disps, d)
		sd.size = d.FrameBytes()
	}
	return sd, nil
}

// FrameBytes returns the size of one frame's output.
func (sd *setDispatcher) FrameBytes() int { return sd.size }

// Close frees every member's kernel and buffers (those of a member taken
// out went with its device).
func (sd *setDispatcher) Close() error {
	var errs []error
	for _, d := range sd.disps {
		errs = append(errs, d.Close())
	}
	sd.disps = nil
	return errors.Join(errs...)
}

// Submit places frame on the least-loaded member and submits it there.
func (sd *setDispatcher) Submit(x io.Io, frame, slot int) (tasks.Submission, error) {
	s := &setSubmission{sd: sd, frame: frame, slot: slot}
	if err := s.start(x); err != nil {
		return nil, err
	}
	return s, nil
}

// setSubmission is one frame's GPU work on the member it was placed on; it
// moves to another member when that one is lost.
type setSubmission struct {
	sd          *setDispatcher
	frame, slot int
	m           *devset.Member   // nil between members
	inner       tasks.Submission // the frame's submission on m
	tries       int
	last        error // the error that moved the frame off its last member
	failed      error // an error on m that is not a loss (for Release)
}

// start submits the frame on the least-loaded healthy member, moving on
// while the submission itself fails because a member is lost.
func (s *setSubmission) start(x io.Io) error {
	for {
		if s.tries >= s.sd.set.Len() && s.sd.set.Healthy() > 0 {
			return &devset.Error{Op: "pipeline", Detail: fmt.Sprintf("frame %d: gave up after %d tries", s.frame, s.tries), Err: gpu.ErrDeviceLost, Last: s.last}
		}
		m, err := s.sd.set.Acquire(x)
		if err != nil {
			var de *devset.Error
			if s.last != nil && errors.As(err, &de) {
				de.Last = s.last
			}
			return err
		}
		s.tries++
		inner, err := s.sd.disps[m.Index()].Submit(x, s.frame, s.slot)
		if err == nil {
			s.m, s.inner = m, inner
			return nil
		}
		if !m.Release(err) || x.Canceled() || errors.Is(err, io.ErrCanceled) {
			return err
		}
		s.last = err
	}
}

// moved handles err from the frame's member: it lets go of the member
// and reports whether the frame must run again elsewhere (the member is
// lost and the run is not canceled).
func (s *setSubmission) moved(x io.Io, err error) bool {
	if s.m.Device().Lost() == nil && !errors.Is(err, gpu.ErrDeviceLost) {
		s.failed = err
		return false
	}
	s.drop(x, err)
	if x.Canceled() || errors.Is(err, io.ErrCanceled) {
		return false
	}
	s.last = err
	return true
}

// drop closes the frame's submission on its member and releases the
// member with outcome err.
func (s *setSubmission) drop(x io.Io, err error) error {
	if s.m == nil {
		return nil
	}
	cerr := s.inner.Close(x.WithoutCancel())
	if errors.Is(cerr, gpu.ErrDeviceLost) {
		// A batch in flight at the loss: the set closes the device, and
		// the batch with it, once its last user has released it.
		cerr = nil
	}
	s.m.Release(err)
	s.m, s.inner = nil, nil
	return cerr
}

// Wait waits for the frame, running it again on another member when its
// member is lost. The GPU lane is the member's: "device N", and its
// transfer queue's "device N transfer" (a staged read-back's copies).
func (s *setSubmission) Wait(x io.Io) (tasks.GPUTime, error) {
	for {
		if s.m == nil {
			if err := s.start(x); err != nil {
				return tasks.GPUTime{}, err
			}
		}
		gt, err := s.inner.Wait(x)
		if err == nil {
			return onMember(gt, s.m.Index()), nil
		}
		if !s.moved(x, err) {
			return gt, err
		}
	}
}

// Read reads the frame back (a download on a device whose memory is not
// host-visible), computing it again elsewhere if the member is lost now.
func (s *setSubmission) Read(x io.Io, dst []byte) ([]byte, error) {
	n := len(dst)
	for {
		if s.m == nil {
			if _, err := s.Wait(x); err != nil {
				return dst[:n], err
			}
		}
		out, err := s.inner.Read(x, dst[:n])
		if err == nil {
			return out, nil
		}
		if !s.moved(x, err) {
			return out, err
		}
	}
}

// Close frees the frame's submission and releases its member.
func (s *setSubmission) Close(x io.Io) error {
	return s.drop(x, s.failed)
}

// onMember renames gt's GPU lanes to member's: "device N" for its compute
// queue, "device N transfer" for a read-back copy that ran on its transfer
// queue (a lane other than the compute's).
func onMember(gt tasks.GPUTime, member int) tasks.GPUTime {
	lane := fmt.Sprintf("device %d", member)
	switch gt.Copy.Queue {
	case "":
	case gt.Queue:
		gt.Copy.Queue = lane
	default:
		gt.Copy.Queue = lane + " transfer"
	}
	gt.Queue = lane
	return gt
}
