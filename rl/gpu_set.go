package rl

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// The runner shaders' buffers (shaders/rl_runner.glsl), in binding order:
//
//	0 slots    uint32[slotWords per slot]: state (4 floats), episode index,
//	           step in episode, flags, return so far, steps taken, episodes
//	           completed, last reward, last action, observation (6),
//	           final observation (6), 8 spare words
//	1 params   uniform buffer of paramsBytes: the MLP parameters of one
//	           chunk of members (see gpuChunk), member-major
//	2 actions  float32[steps][n]: external actions
//	3 summary  uint32[4 per episode]: {return (float32 bits), length, flags
//	           (1 terminated, 2 truncated), episode word}, SummaryCap per slot
//	4 record   uint32[]: obs (T+1)*E*D, actions T*E, rewards T*E,
//	           terminated T*E, truncated T*E, valid T*E, final obs T*E*D
//	5 cfg      uint32[cfgWords] (see gpuConfig)
const (
	slotWords = 32
	cfgWords  = 16

	wEp, wT, wFlags, wRet, wGStep, wDone, wReward, wAction, wObs, wFinal = 4, 5, 6, 7, 8, 9, 10, 11, 12, 18

	fStarted, fNeedReset, fFinished, fTerm, fTrunc, fEnded = 1, 2, 4, 8, 16, 32

	policyRandom, policyExternal, policyMLP = 0, 1, 2

	// maxGPUSlots bounds the environment slots of one GPU vector env or
	// evaluation (4 Mi slots: 512 MiB of slot state).
	maxGPUSlots = 1 << 22
	// maxRecordWords bounds a trajectory record buffer (1 GiB).
	maxRecordWords = 1 << 28
	// paramsBytes is the size of the runner's parameter uniform block
	// (vec4[4096]); paramsFloats the parameters one dispatch sees. Any
	// MLP of MaxHidden-wide layers fits (at most 4,738 parameters).
	paramsBytes  = 65536
	paramsFloats = paramsBytes / 4
)

// gpuChunk is one dispatch's share of the slots: slots [slot0, slotEnd),
// whose members' parameters, from member0 on, fill one parameter buffer.
type gpuChunk struct {
	slot0, slotEnd, member0, member1 int
}

// gpuChunks splits n slots of members members (envsPerMember slots each,
// consecutive) into chunks whose parameters (np per member) fit one
// parameter buffer; np 0 (no MLP) gives one chunk.
func gpuChunks(n, members, envsPerMember, np int) []gpuChunk {
	if np == 0 || members <= 1 {
		return []gpuChunk{{0, n, 0, max(members, 1)}}
	}
	per := paramsFloats / np
	var cs []gpuChunk
	for m0 := 0; m0 < members; m0 += per {
		m1 := min(m0+per, members)
		cs = append(cs, gpuChunk{m0 * envsPerMember, m1 * envsPerMember, m0, m1})
	}
	return cs
}

// gpuShaders maps an environment's name to its runner kernel.
var gpuShaders = map[string]func() []byte{
	"CartPole-v1":              shaders.RLCartPole,
	"Acrobot-v1":               shaders.RLAcrobot,
	"Pendulum-v1":              shaders.RLPendulum,
	"MountainCarContinuous-v0": shaders.RLMountainCar,
}

// gpuConfig is the runner's configuration block (binding 5).
type gpuConfig struct {
	seed          uint64
	n             int
	policy        uint32
	autoreset     AutoresetMode
	envsPerMember int
	envBase       uint32
	envMod        int
	episodeBase   uint32
	episodeLimit  int
	summaryCap    int
	recSlots      int
	recSteps      int
	recOrigin     uint32
}

func (c *gpuConfig) words() []uint32 {
	w := make([]uint32, cfgWords)
	w[0], w[1] = uint32(c.seed), uint32(c.seed>>32)
	w[2] = uint32(c.n)
	w[3] = c.policy
	w[4] = uint32(c.autoreset)
	w[5] = uint32(max(c.envsPerMember, 1))
	w[6] = c.envBase
	w[7] = uint32(c.envMod)
	w[8] = c.episodeBase
	w[9] = uint32(c.episodeLimit)
	w[10] = uint32(c.summaryCap)
	w[11] = uint32(c.recSlots)
	w[12] = uint32(c.recSteps)
	w[13] = c.recOrigin
	return w
}

// recordWords is the size of a record buffer for E slots over T steps.
func recordWords(e, t, d int) int64 {
	e64, t64, d64 := int64(e), int64(t), int64(d)
	return (t64+1)*e64*d64 + 5*t64*e64 + t64*e64*d64
}

// gpuKernel opens env's runner kernel specialized for wg, the MLP (nil:
// no MLP; its constants keep their defaults) and c's policy, autoreset
// mode and uses: trajectories (c.recSlots > 0), an episode limit, summaries.
// What c does not use is compiled out of the step loop.
func gpuKernel(d *gpu.Device, env string, wg int, m *MLP, c *gpuConfig) (*gpu.Kernel, EnvSpec, error) {
	const op = "gpu kernel"
	shader, ok := gpuShaders[env]
	if !ok {
		return nil, EnvSpec{}, errorf(op, "no GPU runner for environment %q (have CartPole-v1, Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0)", env)
	}
	e, err := Lookup(env)
	if err != nil {
		return nil, EnvSpec{}, err
	}
	spec := e.Spec()
	if wg == 0 {
		wg = 64
	}
	if wg < 1 || wg > 1024 {
		return nil, EnvSpec{}, errorf(op, "workgroup size %d, want 1 to 1024", wg)
	}
	sc := map[uint32]any{0: uint32(wg), 5: c.policy, 6: c.recSlots > 0, 7: c.episodeLimit > 0, 8: c.summaryCap > 0, 9: c.autoreset == SameStep}
	if m != nil {
		if err := m.Check(spec); err != nil {
			return nil, EnvSpec{}, err
		}
		hidden := m.Sizes[1 : len(m.Sizes)-1]
		sc[1] = uint32(len(hidden))
		if len(hidden) >= 1 {
			sc[2] = uint32(hidden[0])
		}
		if len(hidden) >= 2 {
			sc[3] = uint32(hidden[1])
		}
		sc[4] = uint32(m.Act)
	}
	k, err := d.NewKernel(shader(), &gpu.KernelOptions{Spec: sc})
	if err != nil {
		return nil, EnvSpec{}, &Error{Op: op, Msg: fmt.Sprintf("%s: %v", env, err), Err: err}
	}
	return k, spec, nil
}

// gpuSet is one set of the runner's buffers with the batches recorded on
// them. One caller uses a set at a time.
type gpuSet struct {
	d       *gpu.Device
	k       *gpu.Kernel
	bufs    [6]*gpu.Buffer // slots, (unused), actions, summary, record, cfg
	params  []*gpu.Buffer  // one parameter buffer per chunk
	chunks  []gpuChunk
	batches map[batchKey]*gpu.Batch
}

// batchKey names a recorded batch: a dispatch of steps over n slots,
// optionally after zeroing the slots, summaries and record.
type batchKey struct {
	steps, n         int
	zero, zeroRecord bool
}

const (
	bSlots = iota
	bParams
	bActions
	bSummary
	bRecord
	bCfg
)

var bufNames = [6]string{"slots", "params", "actions", "summary", "record", "cfg"}

func newGPUSet(d *gpu.Device, k *gpu.Kernel) *gpuSet {
	return &gpuSet{d: d, k: k, batches: map[batchKey]*gpu.Batch{}}
}

// ensure makes buffer i at least bytes long (at least 64 bytes); growing it
// drops the batches recorded on the old one.
func (s *gpuSet) ensure(i int, bytes int64) error {
	if bytes < 64 {
		bytes = 64
	}
	lim := int64(s.d.Info().Limits.MaxStorageBufferRange)
	if bytes > lim {
		return &Error{Op: "gpu buffers", Msg: fmt.Sprintf("%s buffer of %d bytes exceeds the device's storage-buffer range of %d bytes", bufNames[i], bytes, lim), Err: gpu.ErrLimit}
	}
	if b := s.bufs[i]; b != nil && int64(b.Size()) >= bytes {
		return nil
	}
	if err := s.dropBatches(); err != nil {
		return err
	}
	if b := s.bufs[i]; b != nil {
		if err := b.Close(); err != nil {
			return err
		}
		s.bufs[i] = nil
	}
	b, err := s.d.NewBuffer(int(bytes), gpu.DeviceLocal)
	if err != nil {
		return &Error{Op: "gpu buffers", Msg: fmt.Sprintf("%s buffer of %d bytes: %v", bufNames[i], bytes, err), Err: err}
	}
	s.bufs[i] = b
	return nil
}

// setChunks splits the set's dispatches into chunks (see gpuChunks) and
// makes one parameter buffer per chunk; a change drops the recorded
// batches.
func (s *gpuSet) setChunks(n, members, envsPerMember, np int) error {
	if lim := s.d.Info().Limits.MaxUniformBufferRange; lim < paramsBytes {
		return &Error{Op: "gpu buffers", Msg: fmt.Sprintf("the runner's %d-byte parameter block exceeds the device's uniform-buffer range of %d bytes", paramsBytes, lim), Err: gpu.ErrLimit}
	}
	cs := gpuChunks(n, members, envsPerMember, np)
	if slices.Equal(cs, s.chunks) {
		return nil
	}
	if err := s.dropBatches(); err != nil {
		return err
	}
	s.chunks = nil
	for len(s.params) < len(cs) {
		b, err := s.d.NewBuffer(paramsBytes, gpu.DeviceLocal)
		if err != nil {
			return &Error{Op: "gpu buffers", Msg: fmt.Sprintf("parameter buffer of %d bytes: %v", paramsBytes, err), Err: err}
		}
		s.params = append(s.params, b)
	}
	s.chunks = cs
	return nil
}

// uploadParams writes each chunk's members' parameters (np each) from
// params, all members' vectors in order, to the chunk's buffer.
func (s *gpuSet) uploadParams(x io.Io, params []float32, np int) error {
	for i, c := range s.chunks {
		if err := gpu.Upload(x, s.params[i], 0, params[c.member0*np:c.member1*np]); err != nil {
			return err
		}
	}
	return nil
}

func (s *gpuSet) dropBatches() error {
	var errs []error
	for key, b := range s.batches {
		if err := b.Close(); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.batches, key)
	}
	return errors.Join(errs...)
}

// maxBatches bounds the batches a set keeps recorded: callers that run
// many different step counts re-record rather than grow the set.
const maxBatches = 16

// batch returns the batch of key, recording it on first use.
func (s *gpuSet) batch(key batchKey) (*gpu.Batch, error) {
	if b, ok := s.batches[key]; ok {
		return b, nil
	}
	if len(s.batches) >= maxBatches {
		for k, b := range s.batches {
			if b.Close() == nil { // a batch still running stays
				delete(s.batches, k)
			}
		}
	}
	b := s.d.NewBatch()
	err := s.record(b, key)
	if err != nil {
		b.Close()
		return nil, &Error{Op: "gpu batch", Msg: err.Error(), Err: err}
	}
	s.batches[key] = b
	return b, nil
}

func (s *gpuSet) record(b *gpu.Batch, key batchKey) error {
	if key.zero {
		for _, i := range []int{bSlots, bSummary} {
			if err := b.Fill(s.bufs[i], 0, s.bufs[i].Size()&^3, 0); err != nil {
				return err
			}
		}
	}
	if key.zeroRecord {
		if err := b.Fill(s.bufs[bRecord], 0, s.bufs[bRecord].Size()&^3, 0); err != nil {
			return err
		}
	}
	if err := b.Timestamp("start"); err != nil {
		return err
	}
	for i, c := range s.chunks {
		bufs := s.bufs
		bufs[bParams] = s.params[i]
		push := gpu.Push(uint32(key.steps), uint32(c.slot0), uint32(c.slotEnd), uint32(c.member0))
		if err := b.Dispatch(s.k, s.k.Groups(c.slotEnd-c.slot0), push, bufs[:]...); err != nil {
			return err
		}
	}
	return b.Timestamp("end")
}

// run submits the batch of key and waits for it (a cancel point), and
// returns the GPU time between its timestamps.
func (s *gpuSet) run(x io.Io, key batchKey) (time.Duration, error) {
	b, err := s.batch(key)
	if err != nil {
		return 0, err
	}
	c, err := s.d.Run(x, b)
	if err != nil {
		return 0, err
	}
	dt, _ := c.Span("start", "end")
	return dt, nil
}

// idle reports whether no batch of s is in flight (a canceled wait leaves
// the GPU work running). It closes the batches that are done.
func (s *gpuSet) idle() bool {
	return s.dropBatches() == nil
}

// close releases every batch and buffer of s; ErrBusy while a canceled
// submission still runs.
func (s *gpuSet) close() error {
	if err := s.dropBatches(); err != nil {
		return err
	}
	var errs []error
	for i, b := range s.bufs {
		if b == nil {
			continue
		}
		if err := b.Close(); err != nil {
			errs = append(errs, err)
			continue
		}
		s.bufs[i] = nil
	}
	for len(s.params) > 0 {
		b := s.params[len(s.params)-1]
		if err := b.Close(); err != nil {
			errs = append(errs, err)
			break
		}
		s.params = s.params[:len(s.params)-1]
	}
	s.chunks = nil
	return errors.Join(errs...)
}

// closeWait closes s, waiting up to limit for canceled work to finish.
func (s *gpuSet) closeWait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := s.close()
		if err == nil || !errors.Is(err, gpu.ErrBusy) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// parseSlot reads the words of one slot.
type slotView []uint32

func (v slotView) f(i int) float32 { return math.Float32frombits(v[i]) }
