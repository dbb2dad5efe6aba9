package providers

import (
	"fmt"
	"sort"
)

// Registry maps pay channels and notify paths to providers.
type Registry struct {
	byChannel map[string]Provider
	byPath    map[string]Provider
	all       []Provider
}

// NewRegistry registers providers; a channel or notify path served twice
// is a configuration error.
func NewRegistry(ps ...Provider) (*Registry, error) {
	r := &Registry{byChannel: map[string]Provider{}, byPath: map[string]Provider{}}
	for _, p := range ps {
		for _, ch := range p.Channels() {
			if other, ok := r.byChannel[ch]; ok {
				return nil, fmt.Errorf("channel %s served by both %s and %s", ch, other.Name(), p.Name())
			}
			r.byChannel[ch] = p
		}
		if path := p.NotifyPath(); path != "" {
			if other, ok := r.byPath[path]; ok {
				return nil, fmt.Errorf("notify path %s used by both %s and %s", path, other.Name(), p.Name())
			}
			r.byPath[path] = p
		}
		r.all = append(r.all, p)
	}
	return r, nil
}

// MustRegistry is NewRegistry for fixed provider sets (tests, wiring that
// cannot collide); it panics on a collision.
func MustRegistry(ps ...Provider) *Registry {
	r, err := NewRegistry(ps...)
	if err != nil {
		panic(err)
	}
	return r
}

// ForChannel returns the provider of a pay channel, or ErrUnknownChannel.
func (r *Registry) ForChannel(channel string) (Provider, error) {
	p, ok := r.byChannel[channel]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, channel)
	}
	return p, nil
}

// Supports reports whether a channel has a provider.
func (r *Registry) Supports(channel string) bool { _, ok := r.byChannel[channel]; return ok }

// Channels lists the served pay channels, sorted.
func (r *Registry) Channels() []string {
	out := make([]string, 0, len(r.byChannel))
	for ch := range r.byChannel {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// Notifiers lists the providers that receive notifies, by notify path, sorted.
func (r *Registry) Notifiers() []Provider {
	paths := make([]string, 0, len(r.byPath))
	for p := range r.byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]Provider, len(paths))
	for i, p := range paths {
		out[i] = r.byPath[p]
	}
	return out
}
