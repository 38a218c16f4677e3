package main

import (
	"os"
	"time"

	"k8s.io/utils/clock"
)

// interruptGrace is how long after an interrupt further signals count as
// copies of it. One Ctrl-C can arrive twice: `timeout` forwards it to the
// plugin, and the terminal sends it to the plugin's process group too.
const interruptGrace = 2 * time.Second

// watchInterrupts calls first on the first signal and again on the first
// signal that arrives grace or more after it; signals in between are the
// same interrupt and are dropped. It returns after again, or when sigs is
// closed.
func watchInterrupts(sigs <-chan os.Signal, clk clock.PassiveClock, grace time.Duration, first, again func()) {
	if _, ok := <-sigs; !ok {
		return
	}
	at := clk.Now()
	first()
	for range sigs {
		if clk.Since(at) >= grace {
			again()
			return
		}
	}
}
