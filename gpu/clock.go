package gpu

import (
	"math"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
)

// Calibration says how GPU timestamps are placed on the host clock.
type Calibration struct {
	// Method is "calibrated" (VK_EXT_calibrated_timestamps sampling the
	// device counter and CLOCK_MONOTONIC together) or "bracket" (a
	// timestamp written by a submission bracketed by host clock reads).
	Method string
	// Offset is host CLOCK_MONOTONIC ns minus device ns.
	Offset time.Duration
	// ErrorBound bounds the error of placing a timestamp on the host clock,
	// excluding drift since Open: with "calibrated" the driver's reported
	// maximum deviation of the best of several samples, with "bracket" half
	// the shortest submit-to-wait round trip.
	ErrorBound time.Duration
}

type clock struct {
	cal      Calibration
	period   float64 // ns per tick
	mask     uint64
	offsetNs float64
	baseTime time.Time // time.Now() read together with baseMono
	baseMono uint64
}

// Calibration reports how GPU timestamps are mapped to host time. On
// lavapipe the device counter is CLOCK_MONOTONIC itself and the offset is 0
// within the bound.
func (d *Device) Calibration() Calibration { return d.clock.cal }

func (c *clock) toTime(ticks uint64) time.Time {
	ns := float64(ticks&c.mask)*c.period + c.offsetNs
	return c.baseTime.Add(time.Duration(int64(ns) - int64(c.baseMono)))
}

func (d *Device) calibrate() error {
	p := d.vd.Phys
	c := &d.clock
	c.period = float64(p.TimestampPeriod)
	if c.period == 0 {
		c.period = 1
	}
	c.mask = math.MaxUint64
	if p.TimestampValidBits > 0 && p.TimestampValidBits < 64 {
		c.mask = 1<<p.TimestampValidBits - 1
	}
	c.baseTime = time.Now()
	c.baseMono = vkx.MonotonicNow()
	if p.TimestampValidBits == 0 {
		c.cal = Calibration{Method: "none"}
		return nil
	}
	if p.Calibrated {
		bestDev := uint64(math.MaxUint64)
		for i := 0; i < 8; i++ {
			ticks, host, dev, err := d.vd.Calibrate()
			if err != nil {
				break
			}
			if dev < bestDev {
				bestDev = dev
				c.offsetNs = float64(host) - float64(ticks&c.mask)*c.period
			}
		}
		if bestDev != math.MaxUint64 {
			c.cal = Calibration{Method: "calibrated", Offset: time.Duration(c.offsetNs), ErrorBound: time.Duration(bestDev)}
			return nil
		}
	}
	// Bracket: a submission writing one timestamp, between two host reads.
	cmds, err := d.vd.Record([]vkx.Op{{Kind: vkx.OpTimestamp}}, 1)
	if err != nil {
		return wrap("calibrate", err)
	}
	defer cmds.Destroy()
	bestRT := uint64(math.MaxUint64)
	for i := 0; i < 5; i++ {
		before := vkx.MonotonicNow()
		v, err := d.vd.Submit(cmds)
		if err != nil {
			return wrap("calibrate", err)
		}
		if err := d.vd.Wait(v, 5*time.Second); err != nil {
			return wrap("calibrate", err)
		}
		after := vkx.MonotonicNow()
		raw := make([]uint64, 1)
		if err := cmds.Timestamps(raw); err != nil {
			return wrap("calibrate", err)
		}
		if rt := after - before; rt < bestRT {
			bestRT = rt
			mid := float64(before) + float64(rt)/2
			c.offsetNs = mid - float64(raw[0]&c.mask)*c.period
		}
	}
	c.cal = Calibration{Method: "bracket", Offset: time.Duration(c.offsetNs), ErrorBound: time.Duration(bestRT / 2)}
	return nil
}
