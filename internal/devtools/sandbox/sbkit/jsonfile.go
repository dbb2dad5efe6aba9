package sbkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// JSONFile is a credentials file of a sandbox state directory holding one
// JSON document of type T, generated once and loaded ever after.
type JSONFile[T any] struct {
	// Name is the file name in the state directory, e.g. "alipay.json".
	Name string
	// Pkg prefixes errors (the sandbox's package name).
	Pkg string
	// ErrNotFound is wrapped by Load's error when the file does not exist.
	ErrNotFound error
	// Validate checks a decoded document; nil accepts any.
	Validate func(*T) error
	// Loaded, if set, completes a valid document loaded from dir (e.g.
	// records dir in it).
	Loaded func(v *T, dir string)
}

// Load reads and validates dir/Name. It never generates anything and
// returns an error wrapping ErrNotFound when the file does not exist.
func (f JSONFile[T]) Load(dir string) (*T, error) {
	path := filepath.Join(dir, f.Name)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", f.ErrNotFound, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", f.Pkg, path, err)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%s: decode %s: %w", f.Pkg, path, err)
	}
	if f.Validate != nil {
		if err := f.Validate(v); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.Pkg, path, err)
		}
	}
	if f.Loaded != nil {
		f.Loaded(v, dir)
	}
	return v, nil
}

// Ensure creates dir (0700) if needed and returns its document, calling
// generate only when dir/Name does not exist yet. The generated document is
// written as indented JSON with PublishOnce, so concurrent callers, in this
// process or others, all end up with the first writer's document and never
// see a partial file. An existing but invalid file is an error, never
// replaced.
func (f JSONFile[T]) Ensure(dir string, generate func() (*T, error)) (*T, error) {
	if dir == "" {
		return nil, errors.New(f.Pkg + ": empty state dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: create state dir: %w", f.Pkg, err)
	}
	if v, err := f.Load(dir); !errors.Is(err, f.ErrNotFound) {
		return v, err
	}
	v, err := generate()
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: encode credentials: %w", f.Pkg, err)
	}
	if err := PublishOnce(dir, f.Name, append(raw, '\n')); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Pkg, err)
	}
	return f.Load(dir)
}
