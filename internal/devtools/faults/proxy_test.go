//go:build faults

package faults

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxy is a TCP proxy on a fixed loopback port in front of a real server
// (PostgreSQL, the Temporal frontend). Cut makes the server unavailable the
// way a crash or a network partition does: every open connection is reset
// and new ones are refused (nothing listens on the port); Restore listens on
// the same port again.
type proxy struct {
	t      *testing.T
	name   string
	target string
	addr   string // the proxy's address: what the application dials

	mu    sync.Mutex
	ln    net.Listener
	up    bool
	conns map[net.Conn]struct{}

	accepted atomic.Int64 // connections accepted over the proxy's life
	refused  atomic.Int64 // connections closed because the proxy was cut
	reset    atomic.Int64 // open connections reset by Cut
}

func newProxy(t *testing.T, name, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy %s: listen: %v", name, err)
	}
	p := &proxy{t: t, name: name, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln, p.up = ln, true
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed by Cut or close
			}
			p.accepted.Add(1)
			go p.pipe(c)
		}
	}()
}

// track registers c; it reports false (and closes c) when the proxy is cut.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		p.refused.Add(1)
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *proxy) pipe(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(server, client)
	go cp(client, server)
	<-done // either side gone: drop both
}

// Cut drops every open connection (with a reset, as a crashed host would)
// and stops listening, so new connections are refused.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		return
	}
	p.up = false
	_ = p.ln.Close()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = c.Close()
		delete(p.conns, c)
		p.reset.Add(1)
	}
}

// Restore listens on the proxy's port again.
func (p *proxy) Restore() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("proxy %s: listen again on %s: %v", p.name, p.addr, err)
		}
		time.Sleep(50 * time.Millisecond) // the port is still being released
	}
}

func (p *proxy) close() {
	p.Cut()
}

// dialRefused reports whether a TCP connection to the proxy is refused now.
func (p *proxy) dialRefused() bool {
	c, err := net.DialTimeout("tcp", p.addr, time.Second)
	if err == nil {
		_ = c.Close()
		return false
	}
	var op *net.OpError
	return errors.As(err, &op)
}
