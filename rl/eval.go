package rl

import (
	"time"

	"github.com/vkio/vkio/io"
)

// Evaluator plays episodes of a population of MLP policies: the GPU's
// (one dispatch per generation, whole episodes) or the CPU reference's.
// Evolution strategies see nothing else of the device.
type Evaluator interface {
	// Evaluate plays req.Episodes episodes of each of req.Members
	// policies and returns their returns and lengths. It is a cancel
	// point (through x) and may be called by several tasks at once.
	Evaluate(x io.Io, req EvalRequest) (*EvalResult, error)
	// Spec and Policy are what it evaluates.
	Spec() EnvSpec
	Policy() MLP
	// Close releases what the evaluator holds (idempotent).
	Close() error
}

// EvalRequest is one generation's evaluation.
//
// Environment slot j = member*Episodes + k plays member's policy from the
// start state of RNG environment k+EnvBase, episode Episode: every member
// of a generation sees the same Episodes start states (common random
// numbers), and the starts change with Episode.
type EvalRequest struct {
	// Seed keys the RNG.
	Seed uint64
	// Episode is the episode word of every slot's counter (a
	// generation's number, or a reserved range for final evaluations).
	Episode uint32
	// EnvBase offsets the environment word (0 for training).
	EnvBase uint32
	// Params holds Members parameter vectors of Policy().NumParams()
	// values each, member-major.
	Params []float32
	// Members is the population's size; Episodes the episodes per member.
	Members, Episodes int
	// Record is how many slots, from slot 0, record their trajectory
	// (0: none).
	Record int
}

// EvalResult is what an evaluation measured.
type EvalResult struct {
	// Returns and Lengths hold each slot's episode (Members*Episodes,
	// slot order): undiscounted return and number of steps.
	Returns []float64
	Lengths []int32
	// Truncated reports, per slot, an episode ended by the time limit.
	Truncated []bool
	// Steps is the number of environment steps played.
	Steps int64
	// Trajectory holds the recorded slots' steps (nil when Record is 0).
	Trajectory *Trajectory
	// GPU is the device's busy time for this evaluation (0 on the CPU).
	GPU time.Duration
}

// Trajectory is recorded steps of E environment slots over at most T
// steps, step-major ([t][e]...), as the .npy files store them (see the
// README's layout): Obs[0][e] is the reset observation, Actions[t][e] the
// action taken from Obs[t][e], and Obs[t+1][e], Rewards[t][e],
// Terminated[t][e] and Truncated[t][e] what step t returned, so the
// terminal observation is never lost. After a slot's episode ended,
// Valid[t][e] is false and its values are zero.
type Trajectory struct {
	T, E   int
	ObsDim int
	ActDim int
	// Obs has (T+1)*E*ObsDim values; Actions T*E*ActDim; the rest T*E.
	Obs        []float32
	Actions    []float32
	Rewards    []float32
	Terminated []bool
	Truncated  []bool
	Valid      []bool
	// FinalObs is set only by a VecEnv's (or GPUVecEnv's) recording in SameStep mode (nil
	// otherwise): T*E*ObsDim values, where FinalObs[t][e] is the terminal
	// observation of a step that ended an episode (Gymnasium's
	// info["final_obs"]; Obs[t+1][e] is then the reset observation) and
	// zero elsewhere.
	FinalObs []float32
}
