package main

// rl train --devices: the runs' evaluations spread over a device set, one
// GPU evaluator per member. Each evaluation goes to the least-loaded
// member and runs again on another when its member is lost (an evaluation
// has no effect outside its result), so every seed's outputs are those of
// a one-device job: the same bytes, on devices of one kind.

import (
	"errors"
	"fmt"

	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// setEvaluator is an rl.Evaluator over a device set.
type setEvaluator struct {
	set *devset.Set
	evs []rl.Evaluator // by member index
}

var _ rl.Evaluator = (*setEvaluator)(nil)

// rlSetEvaluator opens the --devices set and a GPU evaluator on each
// member; where names the set.
func (a *app) rlSetEvaluator(devs *devicesFlag, env string, policy rl.MLP, workgroup, perDispatch int) (ev rl.Evaluator, where string, err error) {
	if a.onCPU() {
		return nil, "", usageErrorf("--devices: the CPU evaluator (--device cpu) runs on no GPU")
	}
	set, err := a.openSet(devs)
	if err != nil {
		return nil, "", err
	}
	se := &setEvaluator{set: set}
	for _, m := range set.Members() {
		e, err := rl.NewGPUEvaluator(m.Device(), env, policy, &rl.GPUEvalOptions{WorkgroupSize: workgroup, StepsPerDispatch: perDispatch})
		if err != nil {
			err = errors.Join(err, se.Close())
			if errors.Is(err, rl.ErrInvalid) {
				return nil, "", usageErrorf("%v", err)
			}
			return nil, "", fmt.Errorf("%v: %w", m, err)
		}
		se.evs = append(se.evs, e)
	}
	return se, setNames(set), nil
}

// Evaluate runs req on the least-loaded member, again elsewhere if that
// one is lost.
func (e *setEvaluator) Evaluate(x io.Io, req rl.EvalRequest) (*rl.EvalResult, error) {
	return devset.Do(x, e.set, func(x io.Io, m *devset.Member) (*rl.EvalResult, error) {
		return e.evs[m.Index()].Evaluate(x, req)
	})
}

// Spec is the environment the evaluators play.
func (e *setEvaluator) Spec() rl.EnvSpec { return e.evs[0].Spec() }

// Policy is the policy the evaluators evaluate.
func (e *setEvaluator) Policy() rl.MLP { return e.evs[0].Policy() }

// Close closes the evaluators and the set (idempotent).
func (e *setEvaluator) Close() error {
	var errs []error
	for _, ev := range e.evs {
		errs = append(errs, ev.Close())
	}
	e.evs = nil
	if e.set != nil {
		errs = append(errs, e.set.Close())
		e.set = nil
	}
	return errors.Join(errs...)
}
