package cmd

import (
	"slices"
	"testing"
)

// TestCompletionDropsUnsafeNames: cobra writes completions to the shell
// unescaped, so a table name from a planted Lease that holds an escape
// sequence, a bidi override or a line break is never offered.
func TestCompletionDropsUnsafeNames(t *testing.T) {
	all := []string{
		"dogs\t2 files, 1 KiB, staged 2026-12-06 10:00",
		"\x1b]0;pwned\x07\t1 files",
		"cats\x1b[2J\t1 files",
		"birds\n:0",
		"fish\u202etxt\t1 files",
		"cats\t3 files, 2 KiB, staged 2026-12-06 11:00",
	}
	got := candidates(all, "")
	want := []string{"cats\t3 files, 2 KiB, staged 2026-12-06 11:00", "dogs\t2 files, 1 KiB, staged 2026-12-06 10:00"}
	if !slices.Equal(got, want) {
		t.Errorf("candidates %q, want %q", got, want)
	}
	if got := candidates(all, "d"); !slices.Equal(got, want[1:]) {
		t.Errorf("with prefix d: %q, want %q", got, want[1:])
	}
}
