package summary

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// File appends records as JSON lines and rotates by size: path becomes
// path.1 (older ones shift up to path.<keep>, the oldest is deleted) and a
// new path is started. A batch is acknowledged once written to the
// operating system (it survives a crash of rpcgate, not of the machine).
type File struct {
	path        string
	rotateBytes int64
	keep        int
	mu          sync.Mutex
	f           *os.File
	size        int64
	buf         []byte
}

var _ Sink = (*File)(nil)

// NewFile opens (or creates) path for appending.
func NewFile(path string, rotateBytes int64, keep int) (*File, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	f := &File{path: path, rotateBytes: rotateBytes, keep: keep}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) open() error {
	fh, err := os.OpenFile(f.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return err
	}
	f.f, f.size = fh, fi.Size()
	return nil
}

// Publish writes msgs as lines, rotating first when the file is full.
func (f *File) Publish(_ context.Context, msgs []Msg) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		if err := f.open(); err != nil {
			return err
		}
	}
	if f.rotateBytes > 0 && f.size >= f.rotateBytes {
		if err := f.rotate(); err != nil {
			return err
		}
	}
	b := f.buf[:0]
	for i := range msgs {
		b = append(b, msgs[i].Data...)
		b = append(b, '\n')
	}
	f.buf = b
	n, err := f.f.Write(b)
	f.size += int64(n)
	return err
}

// rotate shifts path.(k) to path.(k+1), path to path.1, and opens a new
// path. f.mu is held.
func (f *File) rotate() error {
	f.f.Close()
	f.f = nil
	if f.keep <= 0 {
		if err := os.Remove(f.path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return f.open()
	}
	os.Remove(fmt.Sprintf("%s.%d", f.path, f.keep))
	for k := f.keep - 1; k >= 1; k-- {
		os.Rename(fmt.Sprintf("%s.%d", f.path, k), fmt.Sprintf("%s.%d", f.path, k+1))
	}
	if err := os.Rename(f.path, f.path+".1"); err != nil && !os.IsNotExist(err) {
		return err
	}
	return f.open()
}

// Close closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}
