package push

import (
	"runtime/debug"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer/codec"
)

// currentLimit reads the soft memory limit without changing it.
func currentLimit() int64 { return debug.SetMemoryLimit(-1) }

func TestSettleMemory(t *testing.T) {
	tests := []struct {
		name      string
		files     int
		gomemlim  string
		wantLimit bool
	}{
		{"a small dataset keeps the runtime's limit", codec.ManyFiles, "", false},
		{"many files get a soft limit", codec.ManyFiles + 1, "", true},
		{"GOMEMLIMIT set by the user wins", 1000000, "300MiB", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(memoryLimitEnv, tt.gomemlim)
			before := currentLimit()
			restore := settleMemory(tt.files)
			during := currentLimit()
			restore()
			if after := currentLimit(); after != before {
				t.Errorf("limit after restore %d, want %d as before", after, before)
			}
			switch {
			case tt.wantLimit && during < pushMemoryFloor:
				t.Errorf("limit while staging %d, want at least %d", during, pushMemoryFloor)
			case tt.wantLimit && during >= before:
				t.Errorf("limit while staging %d, not below the runtime's %d", during, before)
			case !tt.wantLimit && during != before:
				t.Errorf("limit while staging %d, want the runtime's %d untouched", during, before)
			}
		})
	}
}

// The limit leaves room over what stays live, so that a dataset bigger
// than the floor was sized for slows the collector's pace, not the push.
func TestMemoryLimitAboveWhatStaysLive(t *testing.T) {
	tests := []struct {
		name  string
		live  int64
		files int
		want  int64
	}{
		{"a million files fit the floor", 89 << 20, 1000000, pushMemoryFloor},
		{"three million files: 30 % over the list and the records", 300 << 20, 3000000, (300<<20 + 64*3000000) * 13 / 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memoryLimit(tt.live, tt.files); got != tt.want {
				t.Errorf("memoryLimit(%d, %d) = %d, want %d", tt.live, tt.files, got, tt.want)
			}
		})
	}
}
