package rl

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
)

// Checkpoint is one run's state at the start of a generation: enough to
// continue the run exactly as if it had never stopped. The RNG needs no
// state of its own: it is counter-based, and its counters are the seed and
// the generation.
//
// # File format (version 1)
//
// All integers little-endian, floats IEEE 754 binary64:
//
//	magic      8 bytes  "VKIOESCK"
//	version    uint32   1
//	length     uint32   payload length in bytes (at most MaxCheckpoint)
//	payload    length bytes:
//	  config   uint32 length (at most MaxConfigJSON) + that many bytes of JSON (TrainConfig)
//	  seed     uint64
//	  gen      uint32   the generation to run next
//	  step     uint64   Adam's update count
//	  stopped  uint8    1 when the run reached its target (no more generations)
//	  sigma    float64  σ of generation gen (informational: the schedule gives it)
//	  lr       float64  learning rate of generation gen (informational)
//	  stats    uint64   bytes of stats.jsonl that belong to generations < gen
//	  episodes uint64   bytes of episodes.jsonl likewise
//	  steps    uint64   environment steps the run played so far
//	  n        uint32   parameters (at most MaxParams; the config's policy's NumParams)
//	  theta    n float64
//	  m        n float64
//	  v        n float64 (each ≥ 0)
//	checksum   32 bytes SHA-256 of the payload
type Checkpoint struct {
	Config        TrainConfig
	Seed          uint64
	Gen           uint32
	Step          uint64
	Stopped       bool
	Sigma, LR     float64
	StatsBytes    uint64
	EpisodesBytes uint64
	TotalSteps    uint64
	Theta, M, V   []float64
}

// CheckpointMagic starts every checkpoint file; CheckpointVersion is the
// format this package writes and reads.
const (
	CheckpointMagic   = "VKIOESCK"
	CheckpointVersion = 1
	// MaxCheckpoint bounds a checkpoint's payload, MaxConfigJSON its
	// configuration.
	MaxCheckpoint = 16 + 3*8*MaxParams + MaxConfigJSON + 128
	MaxConfigJSON = 1 << 16
)

// ErrCheckpoint is wrapped by every error about a malformed checkpoint.
var ErrCheckpoint = &Error{Op: "checkpoint", Msg: "malformed checkpoint", Err: ErrInvalid}

func ckptErr(format string, args ...any) error {
	e := errorf("checkpoint", format, args...).(*Error)
	e.Err = ErrCheckpoint
	return e
}

// MarshalBinary encodes c in the format above.
func (c *Checkpoint) MarshalBinary() ([]byte, error) {
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return nil, ckptErr("config: %v", err)
	}
	n := len(c.Theta)
	switch {
	case len(cfg) > MaxConfigJSON:
		return nil, ckptErr("config of %d bytes: more than %d", len(cfg), MaxConfigJSON)
	case n > MaxParams:
		return nil, ckptErr("%d parameters: more than %d", n, MaxParams)
	case len(c.M) != n || len(c.V) != n:
		return nil, ckptErr("θ, m and v of %d, %d and %d values: want equal lengths", n, len(c.M), len(c.V))
	}
	plen := 4 + len(cfg) + 8 + 4 + 8 + 1 + 8 + 8 + 8 + 8 + 8 + 4 + 3*8*n
	b := make([]byte, 0, 16+plen+sha256.Size)
	b = append(b, CheckpointMagic...)
	b = binary.LittleEndian.AppendUint32(b, CheckpointVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(plen))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cfg)))
	b = append(b, cfg...)
	b = binary.LittleEndian.AppendUint64(b, c.Seed)
	b = binary.LittleEndian.AppendUint32(b, c.Gen)
	b = binary.LittleEndian.AppendUint64(b, c.Step)
	stopped := byte(0)
	if c.Stopped {
		stopped = 1
	}
	b = append(b, stopped)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Sigma))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.LR))
	b = binary.LittleEndian.AppendUint64(b, c.StatsBytes)
	b = binary.LittleEndian.AppendUint64(b, c.EpisodesBytes)
	b = binary.LittleEndian.AppendUint64(b, c.TotalSteps)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, v := range [][]float64{c.Theta, c.M, c.V} {
		for _, f := range v {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
	}
	sum := sha256.Sum256(b[16:])
	return append(b, sum[:]...), nil
}

// LoadCheckpoint parses a checkpoint file. It checks sizes against the
// caps before allocating, the checksum before anything else of the payload,
// and the configuration against the parameter count; an error names what
// is wrong and matches ErrCheckpoint.
func LoadCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) < 16 {
		return nil, ckptErr("%d bytes: too short for a checkpoint header", len(data))
	}
	if string(data[:8]) != CheckpointMagic {
		return nil, ckptErr("not a checkpoint (magic %q, want %q)", data[:8], CheckpointMagic)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != CheckpointVersion {
		return nil, ckptErr("version %d: this build reads version %d", v, CheckpointVersion)
	}
	plen := uint64(binary.LittleEndian.Uint32(data[12:]))
	if plen > MaxCheckpoint {
		return nil, ckptErr("payload of %d bytes: more than %d", plen, MaxCheckpoint)
	}
	if uint64(len(data)) != 16+plen+sha256.Size {
		return nil, ckptErr("file of %d bytes: its header says %d", len(data), 16+plen+sha256.Size)
	}
	p := data[16 : 16+plen]
	if sum := sha256.Sum256(p); !bytes.Equal(sum[:], data[16+plen:]) {
		return nil, ckptErr("checksum mismatch: the file is damaged")
	}
	r := ckptReader{b: p}
	clen := r.u32("config length")
	if r.err == nil && clen > MaxConfigJSON {
		return nil, ckptErr("config of %d bytes: more than %d", clen, MaxConfigJSON)
	}
	cfgJSON := r.bytes(int(clen), "config")
	c := &Checkpoint{}
	c.Seed = r.u64("seed")
	c.Gen = r.u32("generation")
	c.Step = r.u64("Adam step")
	stopped := r.bytes(1, "stopped flag")
	c.Sigma = math.Float64frombits(r.u64("sigma"))
	c.LR = math.Float64frombits(r.u64("lr"))
	c.StatsBytes = r.u64("stats offset")
	c.EpisodesBytes = r.u64("episodes offset")
	c.TotalSteps = r.u64("step count")
	n := r.u32("parameter count")
	if r.err != nil {
		return nil, r.err
	}
	if stopped[0] > 1 {
		return nil, ckptErr("stopped flag %d: want 0 or 1", stopped[0])
	}
	c.Stopped = stopped[0] == 1
	if n > MaxParams {
		return nil, ckptErr("%d parameters: more than %d", n, MaxParams)
	}
	if rest := uint64(len(r.b)); rest != 3*8*uint64(n) {
		return nil, ckptErr("%d parameters need %d bytes of θ, m and v; the payload has %d", n, 3*8*uint64(n), rest)
	}
	cfg, err := ParseConfig(cfgJSON)
	if err != nil {
		return nil, ckptErr("%s", strings.TrimPrefix(err.Error(), "rl: "))
	}
	c.Config = cfg
	if want := c.Config.Policy.NumParams(); want != int(n) {
		return nil, ckptErr("%d parameters, but the config's policy %v has %d", n, c.Config.Policy.Sizes, want)
	}
	if c.Gen > uint32(c.Config.Generations) {
		return nil, ckptErr("generation %d: beyond the config's %d generations", c.Gen, c.Config.Generations)
	}
	if c.Step > uint64(c.Gen) {
		return nil, ckptErr("Adam step %d after %d generations", c.Step, c.Gen)
	}
	vals := make([]float64, 3*int(n))
	for i := range vals {
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[8*i:]))
		if math.IsNaN(vals[i]) || math.IsInf(vals[i], 0) {
			return nil, ckptErr("value %d of θ, m and v is %v", i, vals[i])
		}
	}
	c.Theta, c.M, c.V = vals[:n:n], vals[n:2*n:2*n], vals[2*n:]
	for i, v := range c.V {
		if v < 0 {
			return nil, ckptErr("Adam's v[%d] = %v: want ≥ 0", i, v)
		}
	}
	return c, nil
}

type ckptReader struct {
	b   []byte
	err error
}

func (r *ckptReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return make([]byte, 1)
	}
	if n > len(r.b) {
		r.err = ckptErr("truncated payload: %s needs %d bytes, %d left", what, n, len(r.b))
		return make([]byte, 1)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *ckptReader) u32(what string) uint32 {
	b := r.bytes(4, what)
	if r.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *ckptReader) u64(what string) uint64 {
	b := r.bytes(8, what)
	if r.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}
