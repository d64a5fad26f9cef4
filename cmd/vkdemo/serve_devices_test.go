package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/shaders"
)

// serveDevicesJobs runs 8 clients × 3 one-iteration saxpy jobs against
// srv and checks every result.
func serveDevicesJobs(t *testing.T, srv *serveProc) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 17))
			for j := range 3 {
				n := 1000 + r.IntN(5000)
				job, parts, a, x, y := saxpyJob(r, n, 1)
				res, err := tryPostJob(srv.addr, job, parts)
				if err != nil || res.status != 200 || res.err != "" || res.done == nil || len(res.frames) != 1 {
					errs <- fmt.Errorf("client %d job %d: %v %+v", c, j, err, res)
					return
				}
				checkSaxpy(t, fmt.Sprintf("client %d job %d", c, j), a, x, y, 1, f32s(res.frames[0].data))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// healthzDone waits until no job runs and returns /healthz.
func healthzDone(t *testing.T, srv *serveProc) map[string]any {
	t.Helper()
	h := getJSON(t, srv.addr, "/healthz")
	for deadline := time.Now().Add(5 * time.Second); h["running"].(float64) != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		h = getJSON(t, srv.addr, "/healthz")
	}
	return h
}

// TestServeDevices: serve --devices 0,0 spreads concurrent in-process
// jobs over two logical devices, every result correct; with one device
// lost mid-run (the --inject-fault drill), every job still completes
// correctly, run again on the other device.
func TestServeDevices(t *testing.T) {
	t.Run("spread", func(t *testing.T) {
		srv := startServe(t, nil, "--devices", "0,0")
		if !strings.Contains(srv.stdout.String(), "(2 devices (") {
			t.Errorf("first line does not name the devices:\n%s", srv.stdout)
		}
		serveDevicesJobs(t, srv)
		h := healthzDone(t, srv)
		devs, _ := h["devices"].([]any)
		if h["done"].(float64) != 24 || h["failed"].(float64) != 0 || len(devs) != 2 {
			t.Fatalf("healthz after 24 jobs: %v", h)
		}
		for _, d := range devs {
			m := d.(map[string]any)
			if m["done"].(float64) == 0 || m["lost"] != nil {
				t.Errorf("a device ran no job, or was lost: %v", h)
			}
		}
		srv.stop(t)
	})
	t.Run("workers", func(t *testing.T) {
		// Uploaded SPIR-V runs in worker processes: each device has its
		// own, started on it.
		srv := startServe(t, nil, "--devices", "0,0")
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(c), 5))
				job, parts, a, x, y := saxpyJob(r, 1000+c, 1)
				job = strings.Replace(job, `"kernel":"saxpy",`, "", 1)
				parts["spirv"] = shaders.SAXPY()
				res, err := tryPostJob(srv.addr, job, parts)
				if err != nil || res.status != 200 || res.err != "" || len(res.frames) != 1 {
					t.Errorf("uploaded saxpy %d: %v %+v", c, err, res)
					return
				}
				checkSaxpy(t, fmt.Sprintf("uploaded saxpy %d", c), a, x, y, 1, f32s(res.frames[0].data))
			}()
		}
		wg.Wait()
		h := healthzDone(t, srv)
		devs, _ := h["devices"].([]any)
		if h["done"].(float64) != 4 || len(devs) != 2 {
			t.Fatalf("healthz after 4 jobs: %v", h)
		}
		for _, d := range devs {
			if d.(map[string]any)["done"].(float64) == 0 {
				t.Errorf("a device's workers ran no job: %v", h)
			}
		}
		srv.stop(t)
	})
	t.Run("lost", func(t *testing.T) {
		srv := startServe(t, nil, "--devices", "0,0", "--inject-fault", "1:device-lost:3")
		serveDevicesJobs(t, srv)
		h := healthzDone(t, srv)
		devs, _ := h["devices"].([]any)
		if h["done"].(float64) != 24 || h["failed"].(float64) != 0 || len(devs) != 2 {
			t.Fatalf("healthz after 24 jobs: %v", h)
		}
		if lost, _ := devs[1].(map[string]any)["lost"].(string); !strings.Contains(lost, "VK_ERROR_DEVICE_LOST") {
			t.Errorf("device 1 not reported lost: %v", h)
		}
		if !strings.Contains(srv.stderr.String(), "vkdemo: devset: member taken out") {
			t.Errorf("stderr lacks the take-out:\n%s", srv.stderr)
		}
		srv.stop(t)
	})
}

// TestSetLimits: a set of one kind of device has that device's limits.
func TestSetLimits(t *testing.T) {
	set, err := devset.Open(devset.Options{Devices: []string{"0", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if got, want := setLimits(set), set.Members()[1].Info().Limits; got != want {
		t.Fatalf("setLimits = %+v, want %+v", got, want)
	}
}
