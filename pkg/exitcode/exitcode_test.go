package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "nil", err: nil, want: OK},
		{name: "plain", err: errors.New("boom"), want: Unexpected},
		{name: "coded", err: Errorf(Local, "bad csv"), want: Local},
		{name: "wrapped coded", err: fmt.Errorf("push: %w", Errorf(Cluster, "no release")), want: Cluster},
		{name: "canceled", err: fmt.Errorf("streaming: %w", context.Canceled), want: Interrupted},
		{name: "inner code wins", err: Wrap(Staging, Errorf(Permission, "forbidden")), want: Permission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapNil(t *testing.T) {
	if err := Wrap(Staging, nil); err != nil {
		t.Fatalf("Wrap(nil) = %v, want nil", err)
	}
}
