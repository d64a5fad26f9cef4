package rl

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzParseConfig: ParseConfig never panics; what it accepts passes the
// trainer's checks and survives a JSON round trip unchanged.
func FuzzParseConfig(f *testing.F) {
	for _, env := range TrainEnvs() {
		c, _ := DefaultConfig(env)
		c.Seeds = 3
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	qb, _ := json.Marshal(quadConfig())
	f.Add(qb)
	f.Add([]byte(`{"env":"CartPole-v1","policy":{"Sizes":[4,1000000000000,2]}}`))
	f.Add([]byte(`{"env":"x"} {}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if err := c.Check(); err != nil {
			t.Fatalf("accepted a config its check refuses: %v", err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(b)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip: %+v, %v", c2, err)
		}
	})
}

// FuzzStatsLine: parseStatsLine never panics and reads back what
// appendStats wrote.
func FuzzStatsLine(f *testing.F) {
	s := GenStats{Gen: 12, Seed: 3, Mean: 101.5, Max: 500, Min: 9, Std: 40.25, HasCenter: true, Center: 480, Sigma: 0.1, LR: 0.05, ThetaNorm: 3.5, Steps: 1000, TotalSteps: 5000}
	f.Add(s.appendStats(nil))
	s.HasCenter, s.Mean = false, math.Inf(-1)
	f.Add(s.appendStats(nil))
	f.Add([]byte(`{"gen":-1}`))
	f.Add([]byte(`{"gen":1,"mean":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		gen, _, _, _, err := parseStatsLine(b)
		if err == nil && gen < 0 {
			t.Fatalf("negative generation %d accepted", gen)
		}
	})
}

func TestStatsLineRoundTrip(t *testing.T) {
	s := GenStats{Gen: 7, Seed: 1 << 40, Mean: -12.125, HasCenter: true, Center: 99.5}
	gen, seed, mean, center, err := parseStatsLine(s.appendStats(nil))
	if err != nil || gen != 7 || seed != 1<<40 || mean != -12.125 || center != 99.5 {
		t.Errorf("parsed %d %d %v %v %v", gen, seed, mean, center, err)
	}
	s.HasCenter = false
	if _, _, _, center, _ := parseStatsLine(s.appendStats(nil)); !math.IsNaN(center) {
		t.Errorf("absent center parsed as %v", center)
	}
}
