package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestWatchInterrupts(t *testing.T) {
	type send struct {
		after time.Duration // since the previous signal, on the fake clock
		sig   os.Signal
	}
	tests := []struct {
		name  string
		sends []send
		want  []string
	}{
		{name: "one Ctrl-C", sends: []send{{0, os.Interrupt}}, want: []string{"first"}},
		{name: "one Ctrl-C delivered twice (timeout and the process group)", sends: []send{{0, os.Interrupt}, {0, os.Interrupt}}, want: []string{"first"}},
		{name: "SIGTERM then SIGINT at once", sends: []send{{0, syscall.SIGTERM}, {50 * time.Millisecond, os.Interrupt}}, want: []string{"first"}},
		{name: "copies within the grace, none after", sends: []send{{0, os.Interrupt}, {time.Second, os.Interrupt}, {900 * time.Millisecond, os.Interrupt}}, want: []string{"first"}},
		{name: "a second Ctrl-C after the grace", sends: []send{{0, os.Interrupt}, {0, os.Interrupt}, {interruptGrace, os.Interrupt}}, want: []string{"first", "again"}},
		{name: "nothing", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := clocktesting.NewFakeClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
			sigs := make(chan os.Signal) // unbuffered: a send returns once the watcher took it
			var got []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				watchInterrupts(sigs, fc, interruptGrace, func() { got = append(got, "first") }, func() { got = append(got, "again") })
			}()
		sending:
			for _, s := range tt.sends {
				fc.Step(s.after)
				select {
				case sigs <- s.sig:
				case <-done:
					break sending
				}
			}
			close(sigs)
			<-done
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}
