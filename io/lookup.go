package io

import (
	"net"
)

// LookupHost returns the addresses of host: its IPv4 and IPv6 addresses as
// strings, from the hosts file or DNS (net.DefaultResolver), or host
// itself when it is an address literal. It is a cancel point: the task's
// cancellation reaches the resolver through x.Context(), which abandons a
// query in flight, and the call returns an error matching ErrCanceled.
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

func (sysDriver) lookupHost(t *task, host string) ([]string, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	addrs, err := net.DefaultResolver.LookupHost(Io{t: t}.Context(), host)
	if err != nil {
		return nil, netCancelErr(t, err)
	}
	return addrs, nil
}

func (sysDriver) lookupIP(t *task, network, host string) ([]net.IP, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	ips, err := net.DefaultResolver.LookupIP(Io{t: t}.Context(), network, host)
	if err != nil {
		return nil, netCancelErr(t, err)
	}
	return ips, nil
}
