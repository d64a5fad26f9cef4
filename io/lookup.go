package io

import (
	"net"
	"net/netip"
)

// LookupHost returns the addresses of host: its IPv4 and IPv6 addresses as
// strings, from the hosts file or DNS (net.DefaultResolver), or host
// itself when it is an address literal. It is a cancel point: the task's
// cancellation reaches the resolver through x.Context(): the call returns
// at once, with an error matching ErrCanceled, and the resolver abandons
// the query (a DNS exchange in flight ends at its own timeout).
// Failures wrap the resolver's *net.DNSError (IsNotFound for a name that
// does not exist).
func LookupHost(x Io, host string) ([]string, error) {
	start := x.start()
	addrs, err := x.drv().lookupHost(x.t, host)
	x.observe(start, "net", "lookup", host, 0, err)
	if err != nil {
		return nil, opErr("lookup", host, err)
	}
	return addrs, nil
}

// LookupIP returns the IP addresses of host for network "ip" (both
// families), "ip4" or "ip6", as LookupHost does. It is a cancel point.
func LookupIP(x Io, network, host string) ([]net.IP, error) {
	start := x.start()
	ips, err := x.drv().lookupIP(x.t, network, host)
	x.observe(start, "net", "lookup", host, 0, err)
	if err != nil {
		return nil, opErr("lookup", network+" "+host, err)
	}
	return ips, nil
}

// resolver is the resolver of LookupHost and LookupIP; tests replace it
// with one that asks a DNS server of their own on loopback.
var resolver = net.DefaultResolver

// lookupHost is net.Resolver.LookupHost, built on LookupIPAddr: Go's
// LookupHost waits for a DNS query in flight to time out even when its
// context is canceled, LookupIPAddr returns at once (the query then ends
// by itself, at its timeout, in the resolver's goroutine).
func (sysDriver) lookupHost(t *task, host string) ([]string, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return []string{host}, nil
	}
	ips, err := resolver.LookupIPAddr(Io{t: t}.Context(), host)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	addrs := make([]string, len(ips))
	for i, ip := range ips {
		addrs[i] = ip.String()
	}
	return addrs, nil
}

func (sysDriver) lookupIP(t *task, network, host string) ([]net.IP, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	ips, err := resolver.LookupIP(Io{t: t}.Context(), network, host)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return ips, nil
}
