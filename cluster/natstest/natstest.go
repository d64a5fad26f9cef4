// Package natstest starts an embedded NATS server with JetStream for tests:
// loopback only, a random port, the store in a temporary directory, and a
// Restart that keeps the port and the store (to test recovery).
package natstest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is an embedded nats-server with JetStream.
type Server struct {
	mu   sync.Mutex
	srv  *server.Server
	opts server.Options
	url  string
}

// Options for New. The zero value is a loopback server on a random port.
type Options struct {
	// StoreDir is JetStream's store directory. Required by New; Start uses a
	// t.TempDir.
	StoreDir string
	// Port to listen on; 0 picks a free one (kept by Restart).
	Port int
	// Debug turns the server's logging on (to stderr).
	Debug bool
	// MaxPayload is the server's max_payload in bytes; 0 keeps the
	// server's default (1 MiB).
	MaxPayload int32
}

// New starts a server. The caller must Shutdown it.
func New(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("natstest: Options.StoreDir is empty")
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s := &Server{opts: server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoLog:      !o.Debug,
		NoSigs:     true,
		Debug:      o.Debug,
		MaxPayload: o.MaxPayload,
		// Keep JetStream's own limits modest on shared test machines.
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  4 << 30,
	}}
	if err := s.start(); err != nil {
		return nil, err
	}
	// Pin the port so that Restart comes back on the same URL.
	_, p, _ := net.SplitHostPort(s.srv.Addr().String())
	s.opts.Port, _ = strconv.Atoi(p)
	return s, nil
}

func (s *Server) start() error {
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("natstest: %w", err)
	}
	if s.opts.Debug {
		srv.ConfigureLogger()
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		return errors.New("natstest: server not ready for connections after 20s")
	}
	s.srv = srv
	s.url = srv.ClientURL()
	return nil
}

// Start starts a server for t on a t.TempDir store; it is shut down at
// t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// URL is the client URL, nats://127.0.0.1:<port>; Restart keeps it.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// StoreDir is the JetStream store directory.
func (s *Server) StoreDir() string { return s.opts.StoreDir }

// Server returns the running *server.Server (for its monitoring methods).
func (s *Server) Server() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Shutdown stops the server and waits for it. Idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart shuts the server down and starts it again on the same port and
// store directory, waiting down for the given time in between (clients see a
// disconnect, then reconnect). JetStream recovers its streams from the store.
func (s *Server) Restart(down time.Duration) error {
	s.Shutdown()
	time.Sleep(down)
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	// The old listener may linger a moment; retry the bind briefly.
	for i := 0; i < 50; i++ {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Connect returns a client connection to s that reconnects forever (through
// restarts) and is closed at t.Cleanup.
func (s *Server) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	base := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
	}
	nc, err := nats.Connect(s.URL(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
