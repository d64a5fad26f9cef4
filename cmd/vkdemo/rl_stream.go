package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// statsStream serves `rl train --stream`: every generation's statistics as
// JSON Lines over HTTP (GET /, chunked, one line per generation of any run,
// flushed at once), to any number of clients, on a listener of the Io
// (net/http over io.Listener.NetListener, as `vkdemo serve` does). The
// first line describes the job. A client that reads too slowly misses
// lines (counted in its last line) rather than slowing training: each
// client has a bounded queue.
type statsStream struct {
	ln     *io.Listener
	srv    *http.Server
	served chan error
	cancel func()
	x      io.Io

	mu     sync.Mutex
	subs   map[*streamSub]struct{}
	closed bool
	head   []byte
}

// streamSub is one client's queue.
type streamSub struct {
	ch      chan []byte
	dropped int // lines it missed (under statsStream.mu)
}

// streamQueue is a client's queue, in lines.
const streamQueue = 1024

// streamLine is a generation's line on the stream.
type streamLine struct {
	Gen        int      `json:"gen"`
	Seed       uint64   `json:"seed"`
	Mean       float64  `json:"mean"`
	Max        float64  `json:"max"`
	Min        float64  `json:"min"`
	Std        float64  `json:"std"`
	Center     *float64 `json:"center,omitempty"`
	Sigma      float64  `json:"sigma"`
	LR         float64  `json:"lr"`
	Steps      int64    `json:"steps"`
	TotalSteps int64    `json:"total_steps"`
	WallMS     float64  `json:"wall_ms"`
	GPUMS      float64  `json:"gpu_ms"`
}

// startStatsStream listens on addr and serves the stream until close.
func startStatsStream(x io.Io, addr string, cfg rl.TrainConfig) (*statsStream, error) {
	ln, err := io.Listen(x, "tcp", addr)
	if err != nil {
		return nil, usageErrorf("--stream %s: %v", addr, err)
	}
	head, _ := json.Marshal(map[string]any{"stream": "vkdemo rl train", "env": cfg.Env, "seeds": cfg.Seeds, "seed": cfg.Seed,
		"population": cfg.ES.Population, "generations": cfg.Generations, "target": cfg.Target})
	s := &statsStream{ln: ln, served: make(chan error, 1), subs: map[*streamSub]struct{}{}, head: append(head, '\n')}
	// The sockets' Io is not the training's: Ctrl-C ends training first,
	// then close ends the clients' streams with a last line.
	sockX, cancel := x.WithoutCancel().WithCancel()
	s.x, s.cancel = sockX, cancel
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.srv.Serve(ln.NetListener(sockX)) }()
	return s, nil
}

// addr returns the address the stream listens on.
func (s *statsStream) addr() string { return s.ln.Addr().String() }

func (s *statsStream) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, `{"error":"GET / streams the statistics"}`, http.StatusNotFound)
		return
	}
	sub := &streamSub{ch: make(chan []byte, streamQueue)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, `{"error":"training has ended"}`, http.StatusServiceUnavailable)
		return
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	fl, _ := w.(http.Flusher)
	if _, err := w.Write(s.head); err != nil {
		return
	}
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case line, ok := <-sub.ch:
			if !ok {
				s.mu.Lock()
				n := sub.dropped
				s.mu.Unlock()
				fmt.Fprintf(w, "{\"done\":true,\"dropped\":%d}\n", n)
				return
			}
			if _, err := w.Write(line); err != nil {
				return
			}
			if fl != nil && len(sub.ch) == 0 {
				fl.Flush()
			}
		case <-r.Context().Done():
			return
		}
	}
}

// publish queues a generation's line for every client (never blocks).
func (s *statsStream) publish(g rl.GenStats) {
	l := streamLine{Gen: g.Gen, Seed: g.Seed, Mean: finite(g.Mean), Max: finite(g.Max), Min: finite(g.Min), Std: finite(g.Std),
		Sigma: g.Sigma, LR: g.LR, Steps: g.Steps, TotalSteps: g.TotalSteps, WallMS: msOf(g.Wall), GPUMS: msOf(g.GPU)}
	if g.HasCenter {
		c := finite(g.Center)
		l.Center = &c
	}
	b, err := json.Marshal(l)
	if err != nil {
		return
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for sub := range s.subs {
		select {
		case sub.ch <- b:
		default:
			sub.dropped++
		}
	}
}

// finite maps NaN and ±Inf (which JSON cannot hold) to 0.
func finite(v float64) float64 {
	if v != v || v > 1e308 || v < -1e308 {
		return 0
	}
	return v
}

// close ends every client's stream (after its queued lines and a last
// line) and stops the server, waiting at most two seconds for slow
// clients.
func (s *statsStream) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for sub := range s.subs {
		close(sub.ch)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = s.srv.Shutdown(ctx)
	cancel()
	s.cancel()
	_ = s.srv.Close()
	<-s.served // http.ErrServerClosed, or the listener's end: nothing to report
	_ = s.ln.Close(s.x.WithoutCancel())
}
