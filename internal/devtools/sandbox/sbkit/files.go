package sbkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// PublishOnce writes data to dir/name (mode 0600) unless that file exists,
// never exposing a partial file: a synced temporary file in dir is
// hard-linked to the final name, which fails if another writer, in this
// process or another, got there first; that is not an error. Where the file
// system has no hard links (the link fails with a permission or unsupported
// error) the temporary file is renamed into place unless the file exists by
// then. The temporary file is always removed.
func PublishOnce(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	final := filepath.Join(dir, name)
	err = os.Link(tmp.Name(), final)
	switch {
	case err == nil, errors.Is(err, os.ErrExist):
		return nil
	case errors.Is(err, os.ErrPermission) || errors.Is(err, errors.ErrUnsupported):
		if _, serr := os.Stat(final); serr == nil {
			return nil
		}
		if rerr := os.Rename(tmp.Name(), final); rerr != nil {
			return fmt.Errorf("rename %s: %w", name, rerr)
		}
		return nil
	default:
		return fmt.Errorf("link %s: %w", name, err)
	}
}

// writeSynced makes f 0600, writes data, syncs and closes f.
func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// WriteFileAtomic writes data to dir/name with mode 0600, replacing any
// existing file, through a temporary file in dir and a rename, so readers
// never see a partial file.
func WriteFileAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return nil
}
