package output

import (
	"io"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Format is the value of -o: how a command prints its result.
type Format string

// The formats every command takes.
const (
	// Text is for people: tables and sentences on stdout.
	Text Format = "text"
	// JSON is for scripts: exactly one JSON object on stdout, on success
	// and on failure (docs/json-output.md).
	JSON Format = "json"
)

// AddOutputFlags registers -o/--output into f and, when quiet is not nil,
// -q/--quiet.
func AddOutputFlags(fs *pflag.FlagSet, f *Format, quiet *bool) {
	*f = Text
	fs.VarP((*formatValue)(f), "output", "o", "output format: text or json")
	if quiet != nil {
		fs.BoolVarP(quiet, "quiet", "q", false, "print only warnings, errors and the result")
	}
}

// Validate refuses a format no command prints, before anything runs.
func (f Format) Validate() error {
	if f != Text && f != JSON {
		return exitcode.Errorf(exitcode.BadFlags, "--output %q is not supported: use text or json", string(f))
	}
	return nil
}

// formatValue is Format as a flag. It takes any word: Validate
// judges it, so that the message is the same for every command.
type formatValue Format

func (v *formatValue) String() string     { return string(*v) }
func (v *formatValue) Set(s string) error { *v = formatValue(s); return nil }
func (v *formatValue) Type() string       { return "string" }

// Render prints v as the command's result: with JSON the one object on
// stdout, else text draws it for people. It is the one output path of
// every command.
func Render(p *Printer, format Format, v any, text func(*Printer)) error {
	if format == JSON {
		return p.JSON(v)
	}
	text(p)
	return nil
}

// Finish ends a command that ran into err (nil on success): with JSON the
// object v is printed either way (it carries the error and exit code);
// text is drawn only on success, since main prints the error. It returns
// err, or the failure to print on success.
func Finish(p *Printer, format Format, v any, err error, text func(*Printer)) error {
	if err != nil && format != JSON {
		return err
	}
	if rerr := Render(p, format, v, text); rerr != nil && err == nil {
		return rerr
	}
	return err
}

// Table returns the tab writer every table of the plugin is drawn with
// (kubectl's spacing); Flush it when done.
func Table(w io.Writer) Flusher { return printers.GetNewTabWriter(w) }

// Flusher is a writer that holds its output until Flush.
type Flusher interface {
	io.Writer
	Flush() error
}
