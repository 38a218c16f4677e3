package output

import (
	"fmt"
	"strings"
)

// LogPrefix marks the lines of a remote log in the plugin's own output.
const LogPrefix = "  │ "

// LogLine prints one line of a remote log (the ingestor's) on stderr as
// part of an indented block, dimmed on a terminal; nothing when quiet.
func (p *Printer) LogLine(line string) {
	if p.Quiet {
		return
	}
	// One line of the block: a newline in it would forge a line of ours.
	line = strings.ReplaceAll(Safe(line), "\n", `\n`)
	if p.color {
		fmt.Fprintf(p.ErrOut, "\x1b[2m%s%s\x1b[0m\n", LogPrefix, line)
		return
	}
	fmt.Fprintf(p.ErrOut, "%s%s\n", LogPrefix, line)
}
