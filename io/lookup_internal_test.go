package io

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A cancel request reaches the resolver in the middle of a query: the
// lookup asks a DNS server on loopback that never answers, and returns
// as soon as its task is canceled, long before the resolver's own
// timeouts (5 s per attempt).
func TestLookupCanceledInFlight(t *testing.T) {
	dns, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	// The resolver's connections, closed at the end to end the exchanges
	// still waiting for an answer (Go's resolver reads until its timeout).
	asked := make(chan net.Conn, 64)
	old := resolver
	resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", dns.LocalAddr().String())
		if err == nil {
			asked <- c
		}
		return c, err
	}}
	defer func() {
		resolver = old
		for len(asked) > 0 {
			(<-asked).Close()
		}
	}()

	for _, lookup := range []func(x Io) error{
		func(x Io) error { _, err := LookupHost(x, "vkio-lookup-test.invalid"); return err },
		func(x Io) error { _, err := LookupIP(x, "ip4", "vkio-lookup-test.invalid"); return err },
	} {
		for _, kind := range []Kind{KindBlocking, KindThreaded} {
			b, _ := New(string(kind))
			x := b.Io()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			y, stop := x.WithContext(ctx)
			start := time.Now()
			err := lookup(y)
			elapsed := time.Since(start)
			stop()
			cancel()
			b.Close()
			if !errors.Is(err, ErrCanceled) {
				t.Fatalf("%s: lookup of a name nobody answers, canceled = %v; want ErrCanceled", kind, err)
			}
			if elapsed > 4*time.Second {
				t.Fatalf("%s: lookup returned %v after its cancel, not at once", kind, elapsed)
			}
			if len(asked) == 0 {
				t.Fatalf("%s: the lookup never asked the DNS server", kind)
			}
		}
	}
}
