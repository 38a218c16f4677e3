//go:build linux

package transfer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// returnsWithin fails the test when f does not return within d.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// TestSealsAndHashCacheIgnoreAFIFO: a staged-seals file or a hash cache
// that is a FIFO (planted, or left by another tool) is ignored: the push
// neither waits on it for a writer nor trusts it.
func TestSealsAndHashCacheIgnoreAFIFO(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cacheDirEnv, dir)
	must(t, unix.Mkfifo(filepath.Join(dir, sealsFile), 0o600))
	s := OpenSeals()
	returnsWithin(t, 3*time.Second, "Seals.Known on a FIFO", func() {
		if s.Known("cats", "seal") {
			t.Error("a FIFO's seal was trusted")
		}
	})
	returnsWithin(t, 3*time.Second, "Seals.Record over a FIFO", func() { must(t, s.Record("cats", "seal")) })
	if !s.Known("cats", "seal") {
		t.Error("the seal recorded over the FIFO is not known")
	}

	root := t.TempDir()
	c, _ := OpenHashCache(root)
	must(t, unix.Mkfifo(c.path, 0o600))
	returnsWithin(t, 3*time.Second, "OpenHashCache on a FIFO", func() {
		if c, note := OpenHashCache(root); c == nil || note == "" {
			t.Errorf("the FIFO hash cache was not reported as ignored (note %q)", note)
		}
	})
}

// TestSealsIgnoreAnOversizedFile: a staged-seals file past its bound is
// not read (it holds no seal to trust), and a record replaces it.
func TestSealsIgnoreAnOversizedFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cacheDirEnv, dir)
	p := filepath.Join(dir, sealsFile)
	line := []byte("cats seal\n")
	big := make([]byte, 0, maxSeals*512+len(line))
	for len(big) < maxSeals*512 {
		big = append(big, line...)
	}
	must(t, os.WriteFile(p, big, 0o600))
	s := OpenSeals()
	if s.Known("cats", "seal") {
		t.Error("a seal of an oversized seals file was trusted")
	}
	must(t, s.Record("dogs", "other"))
	if b := mustRead(t, p); string(b) != "dogs other\n" {
		t.Errorf("the seals file after a record holds %d bytes, want only the new line", len(b))
	}
}

// TestCacheFileSwappedForAFIFOAfterItsStat: a seals file or hash cache
// that is a regular file when looked at and a FIFO when opened (swapped
// in between) is ignored at once, not waited on for a writer.
func TestCacheFileSwappedForAFIFOAfterItsStat(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cacheDirEnv, dir)
	swap := func(path string) {
		must(t, os.Remove(path))
		must(t, unix.Mkfifo(path, 0o600))
	}
	beforeCacheOpen = swap
	t.Cleanup(func() { beforeCacheOpen = nil })

	must(t, os.WriteFile(filepath.Join(dir, sealsFile), []byte("cats seal\n"), 0o600))
	returnsWithin(t, 3*time.Second, "Seals.Known on a file swapped for a FIFO", func() {
		if OpenSeals().Known("cats", "seal") {
			t.Error("the seal of a file swapped for a FIFO was trusted")
		}
	})

	root := t.TempDir()
	c, _ := OpenHashCache(root)
	must(t, os.WriteFile(c.path, []byte(cacheMagic), 0o600))
	returnsWithin(t, 3*time.Second, "OpenHashCache on a file swapped for a FIFO", func() {
		if c, note := OpenHashCache(root); c == nil || note == "" {
			t.Errorf("the hash cache swapped for a FIFO was not reported as ignored (note %q)", note)
		}
	})
}
