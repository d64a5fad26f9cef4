package rl

import (
	"math"
	"strconv"
	"time"
)

// GenStats is one generation of one run: a line of the run's stats.jsonl
// (the deterministic fields) and of its timing.jsonl (the wall-clock ones),
// and what TrainOptions.Observer sees.
//
// A stats.jsonl line holds, in this order: gen, seed, mean, max, min and
// std of the population's fitness (a member's fitness is the mean return
// of its episodes), center (the mean return of the center θ after this
// generation's update, over TrainConfig.EvalEpisodes episodes; present only
// in the generations that evaluated it), sigma and lr (of this
// generation), theta_norm (‖θ‖ after the update), steps (environment steps
// of this generation, center evaluation included) and total_steps (of the
// run so far). A timing.jsonl line holds gen, seed, gpu_ms (the device's
// busy time, 0 on the CPU evaluator), eval_ms (the population's Evaluate
// call), update_ms and wall_ms (the whole generation). Floats are written
// as Go's strconv 'g' shortest form, so equal runs give equal bytes.
type GenStats struct {
	Gen  int
	Seed uint64

	Mean, Max, Min, Std float64
	// HasCenter says Center was measured in this generation.
	HasCenter  bool
	Center     float64
	Sigma, LR  float64
	ThetaNorm  float64
	Steps      int64
	TotalSteps int64

	// Wall-clock measures: in timing.jsonl only.
	GPU, Eval, Update, Wall time.Duration
}

// appendStats appends s's stats.jsonl line (with its newline) to b.
func (s *GenStats) appendStats(b []byte) []byte {
	b = append(b, `{"gen":`...)
	b = strconv.AppendInt(b, int64(s.Gen), 10)
	b = append(b, `,"seed":`...)
	b = strconv.AppendUint(b, s.Seed, 10)
	b = appendField(b, "mean", s.Mean)
	b = appendField(b, "max", s.Max)
	b = appendField(b, "min", s.Min)
	b = appendField(b, "std", s.Std)
	if s.HasCenter {
		b = appendField(b, "center", s.Center)
	}
	b = appendField(b, "sigma", s.Sigma)
	b = appendField(b, "lr", s.LR)
	b = appendField(b, "theta_norm", s.ThetaNorm)
	b = append(b, `,"steps":`...)
	b = strconv.AppendInt(b, s.Steps, 10)
	b = append(b, `,"total_steps":`...)
	b = strconv.AppendInt(b, s.TotalSteps, 10)
	return append(b, "}\n"...)
}

// appendTiming appends s's timing.jsonl line to b.
func (s *GenStats) appendTiming(b []byte) []byte {
	b = append(b, `{"gen":`...)
	b = strconv.AppendInt(b, int64(s.Gen), 10)
	b = append(b, `,"seed":`...)
	b = strconv.AppendUint(b, s.Seed, 10)
	b = appendField(b, "gpu_ms", ms(s.GPU))
	b = appendField(b, "eval_ms", ms(s.Eval))
	b = appendField(b, "update_ms", ms(s.Update))
	b = appendField(b, "wall_ms", ms(s.Wall))
	return append(b, "}\n"...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// appendField appends ,"name":v; a value JSON cannot hold (NaN, ±Inf) is
// written as null.
func appendField(b []byte, name string, v float64) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendFloat(b, v)
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEpisodes appends the episodes.jsonl lines of one evaluation: one per
// slot, {"gen","seed","member","episode","return","length","truncated"}.
func appendEpisodes(b []byte, gen int, seed uint64, episodes int, res *EvalResult) []byte {
	for j, r := range res.Returns {
		b = append(b, `{"gen":`...)
		b = strconv.AppendInt(b, int64(gen), 10)
		b = append(b, `,"seed":`...)
		b = strconv.AppendUint(b, seed, 10)
		b = append(b, `,"member":`...)
		b = strconv.AppendInt(b, int64(j/episodes), 10)
		b = append(b, `,"episode":`...)
		b = strconv.AppendInt(b, int64(j%episodes), 10)
		b = appendField(b, "return", r)
		b = append(b, `,"length":`...)
		b = strconv.AppendInt(b, int64(res.Lengths[j]), 10)
		b = append(b, `,"truncated":`...)
		b = strconv.AppendBool(b, res.Truncated[j])
		b = append(b, "}\n"...)
	}
	return b
}

// Summary is the mean, standard deviation (population), minimum and maximum
// of a set of returns, in the order given (a fixed order: deterministic).
type Summary struct {
	N                   int
	Mean, Std, Min, Max float64
}

// Summarize returns the summary of v.
func Summarize(v []float64) Summary {
	s := Summary{N: len(v)}
	if len(v) == 0 {
		return s
	}
	s.Min, s.Max = v[0], v[0]
	var sum float64
	for _, x := range v {
		sum += x
		s.Min = min(s.Min, x)
		s.Max = max(s.Max, x)
	}
	s.Mean = sum / float64(len(v))
	var ss float64
	for _, x := range v {
		d := x - s.Mean
		ss += d * d
	}
	s.Std = math.Sqrt(ss / float64(len(v)))
	return s
}

// appendJSON appends s as a JSON object.
func (s Summary) appendJSON(b []byte) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(s.N), 10)
	b = appendField(b, "mean", s.Mean)
	b = appendField(b, "std", s.Std)
	b = appendField(b, "min", s.Min)
	b = appendField(b, "max", s.Max)
	return append(b, '}')
}
