package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRestartKeepsURLAndStore: after Restart the same URL serves the same
// JetStream data, and a client connected before reconnects by itself.
func TestRestartKeepsURLAndStore(t *testing.T) {
	s := Start(t)
	url := s.URL()
	nc := s.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if s.URL() != url {
		t.Errorf("URL %s after restart, was %s", s.URL(), url)
	}
	var msg *jetstream.RawStreamMsg
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := js.Stream(ctx, "S")
		if err == nil {
			msg, err = st.GetMsg(ctx, 1)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if string(msg.Data) != "kept" {
		t.Errorf("message %q after restart", msg.Data)
	}
	s.Shutdown()
	s.Shutdown() // idempotent
	_ = context.Background
}

// TestNewNeedsStoreDir: New refuses an empty store directory.
func TestNewNeedsStoreDir(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a StoreDir succeeded")
	}
}
