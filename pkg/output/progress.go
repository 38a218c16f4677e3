package output

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"
)

// Progress reports bytes sent: a bar on a terminal, a plain line every few
// seconds in a log, nothing when quiet.
type Progress interface {
	Add(n int64)
	Finish()
}

// DefaultLogInterval is how often a log line is written when stderr is not a
// terminal.
const DefaultLogInterval = 5 * time.Second

// NewProgress returns the progress reporter that fits the printer's stderr.
func (p *Printer) NewProgress(label string, total int64) Progress {
	switch {
	case p.Quiet || total <= 0:
		return nopProgress{}
	case IsTerminal(p.ErrOut):
		return &barProgress{w: p.ErrOut, label: label, total: total}
	default:
		return &logProgress{w: p.ErrOut, label: label, total: total, every: p.LogInterval, start: time.Now(), next: time.Now().Add(p.LogInterval)}
	}
}

type nopProgress struct{}

func (nopProgress) Add(int64) {}
func (nopProgress) Finish()   {}

// barProgress draws nothing until the first bytes flow.
type barProgress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	bar   *pb.ProgressBar
}

func (b *barProgress) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		b.bar = pb.New64(b.total).Set(pb.Bytes, true).SetWriter(b.w).SetRefreshRate(200 * time.Millisecond)
		b.bar.Set("prefix", b.label+" ")
		b.bar.SetTemplateString(`{{string . "prefix"}}{{counters . }} {{bar . }} {{percent . }} {{speed . }} {{rtime . "ETA %s"}}`)
		b.bar.Start()
	}
	b.bar.Add64(n)
}

func (b *barProgress) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Finish()
	}
}

type logProgress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	done  int64
	every time.Duration
	start time.Time
	next  time.Time
	ended bool
}

func (l *logProgress) Add(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	switch now := time.Now(); {
	case l.done >= l.total && !l.ended:
		// The last byte is out: say so at once, verification follows.
		l.ended = true
		l.line(now)
	case now.After(l.next) && !l.ended:
		l.next = now.Add(l.every)
		l.line(now)
	}
}

func (l *logProgress) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended && l.done > 0 {
		l.ended = true
		l.line(time.Now())
	}
}

func (l *logProgress) line(now time.Time) {
	secs := now.Sub(l.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(l.done) / secs / (1 << 20)
	}
	fmt.Fprintf(l.w, "%s: %3.0f%% %s / %s, %.1f MiB/s\n", l.label, 100*float64(l.done)/float64(l.total), mib(l.done), mib(l.total), rate)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
