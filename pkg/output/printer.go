// Package output owns everything the plugin writes: results on stdout, notes,
// warnings and errors on stderr, colour only on a terminal and never with NO_COLOR.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// Printer writes the plugin's output. It is the only place that prints.
type Printer struct {
	Out    io.Writer
	ErrOut io.Writer
	// Quiet drops notes; warnings, errors and results still print.
	Quiet bool
	// LogInterval spaces progress lines in logs.
	LogInterval time.Duration
	color       bool
	// wroteJSON: the command's JSON object is out.
	wroteJSON bool
}

// New returns a Printer over out and errOut. Colour is on only when errOut is a
// terminal and NO_COLOR is unset. Everything written to out passes through
// Safe (tables and results name tables, Pods and files of the cluster);
// on errOut the printer's own colour and progress bar are the only escapes.
func New(out, errOut io.Writer, quiet bool) *Printer {
	_, noColor := os.LookupEnv("NO_COLOR")
	return &Printer{Out: NewSafeWriter(out), ErrOut: errOut, Quiet: quiet, LogInterval: DefaultLogInterval, color: !noColor && IsTerminal(errOut)}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Notef prints a progress note on stderr unless quiet.
func (p *Printer) Notef(format string, args ...any) {
	if p.Quiet {
		return
	}
	fmt.Fprintln(p.ErrOut, Safe(fmt.Sprintf(format, args...)))
}

// Warnf prints a warning on stderr, even when quiet.
func (p *Printer) Warnf(format string, args ...any) {
	fmt.Fprintf(p.ErrOut, "%s %s\n", p.paint("warning:", yellow), Safe(fmt.Sprintf(format, args...)))
}

// Error prints err once, with kubectl's lowercase prefix.
func (p *Printer) Error(err error) {
	fmt.Fprintf(p.ErrOut, "%s %s\n", p.paint("error:", red), Safe(fmt.Sprint(err)))
}

// Resultf prints part of a text result on stdout (made safe by Out).
func (p *Printer) Resultf(format string, args ...any) {
	fmt.Fprintf(p.Out, format, args...)
}

// JSON prints v as the single JSON object of a command's stdout.
func (p *Printer) JSON(v any) error {
	p.wroteJSON = true
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WroteJSON reports whether the printer printed a JSON object.
func (p *Printer) WroteJSON() bool { return p.wroteJSON }

// Color reports whether the printer paints its prefixes.
func (p *Printer) Color() bool { return p.color }

const (
	red    = "31"
	yellow = "33"
)

func (p *Printer) paint(s, code string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
