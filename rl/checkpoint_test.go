package rl

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func testCheckpoint() *Checkpoint {
	cfg := quadConfig()
	cfg.Seeds = 1
	cfg.ES.defaults()
	n := cfg.Policy.NumParams()
	c := &Checkpoint{Config: cfg, Seed: 100, Gen: 4, Step: 4, Sigma: 0.09, LR: 0.05, StatsBytes: 900, EpisodesBytes: 5000, TotalSteps: 321,
		Theta: make([]float64, n), M: make([]float64, n), V: make([]float64, n)}
	for i := range n {
		c.Theta[i], c.M[i], c.V[i] = float64(i)*0.1-0.2, float64(i)*-0.01, float64(i)*0.001
	}
	return c
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := testCheckpoint()
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
	}
	b2, _ := got.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Errorf("re-encoding differs")
	}
}

// reseal recomputes a damaged checkpoint's checksum, so that the loader's
// other checks are reached.
func reseal(b []byte) []byte {
	b = bytes.Clone(b)
	p := b[16 : len(b)-32]
	binary.LittleEndian.PutUint32(b[12:], uint32(len(p)))
	s := sha256.Sum256(p)
	copy(b[len(b)-32:], s[:])
	return b
}

func TestCheckpointErrors(t *testing.T) {
	good, _ := testCheckpoint().MarshalBinary()
	cfgLen := int(binary.LittleEndian.Uint32(good[16:]))
	off := 20 + cfgLen // seed
	set := func(at int, v []byte) []byte { b := bytes.Clone(good); copy(b[at:], v); return reseal(b) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	nOff := off + 8 + 4 + 8 + 1 + 8*5 // sigma, lr, stats, episodes, steps
	for name, tc := range map[string]struct {
		data []byte
		msg  string
	}{
		"empty":        {nil, "too short"},
		"magic":        {append([]byte("NOTACKPT"), good[8:]...), "not a checkpoint"},
		"version":      {set(8, u32(2)), "version 2"},
		"huge length":  {func() []byte { b := bytes.Clone(good); copy(b[12:], u32(math.MaxUint32)); return b }(), "more than"},
		"truncated":    {good[:len(good)-1], "header says"},
		"checksum":     {func() []byte { b := bytes.Clone(good); b[40] ^= 1; return b }(), "checksum"},
		"config len":   {set(16, u32(MaxConfigJSON+1)), "config of"},
		"config json":  {set(20, []byte("[")), "config"},
		"gen":          {set(off+8, u32(13)), "beyond"},
		"step":         {set(off+12, u64(5)), "Adam step"},
		"stopped":      {set(off+20, []byte{2}), "stopped flag"},
		"params":       {set(nOff, u32(5)), "parameters"},
		"many params":  {set(nOff, u32(MaxParams+1)), "more than"},
		"NaN theta":    {set(nOff+4, u64(math.Float64bits(math.NaN()))), "NaN"},
		"negative v":   {set(len(good)-32-8, u64(math.Float64bits(-1))), "want ≥ 0"},
		"short config": {reseal(append(bytes.Clone(good[:20]), good[len(good)-32:]...)), "truncated payload"},
	} {
		_, err := LoadCheckpoint(tc.data)
		if err == nil || !errors.Is(err, ErrCheckpoint) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want an ErrCheckpoint saying %q", name, err, tc.msg)
		}
	}
}

// FuzzLoadCheckpoint: the loader never panics, never allocates beyond its
// caps, and what it accepts encodes back to a checkpoint that loads equal.
func FuzzLoadCheckpoint(f *testing.F) {
	good, _ := testCheckpoint().MarshalBinary()
	f.Add(good)
	f.Add(good[:16])
	f.Add(good[:len(good)-40])
	f.Add([]byte(CheckpointMagic))
	f.Add(reseal(append(bytes.Clone(good[:20]), good[len(good)-32:]...)))
	b := bytes.Clone(good)
	b[100] ^= 0x20
	f.Add(reseal(b))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadCheckpoint(data)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error %v does not match ErrCheckpoint", err)
			}
			return
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted checkpoint does not encode: %v", err)
		}
		c2, err := LoadCheckpoint(enc)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-encoded checkpoint loads as %+v, %v", c2, err)
		}
	})
}
