package output

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Safe returns s with every character a terminal could act on written out
// visibly instead: C0 controls other than newline and tab as \x1b, DEL, the
// C1 controls (U+0080-U+009F, which some terminals read as ESC [ and the
// like) and the bidirectional overrides that reorder what is shown as
// \u009b, bytes that are not UTF-8 as \xff. Names read from the shared
// volume, a Pod's status, a log or an error may hold any of them: printed
// raw they could retitle the window, move the cursor, erase lines or paint
// a fake result. Every string the plugin prints passes through here.
//
// The \u form is also a valid JSON escape of the same character, so a
// JSON result through a safe writer stays valid JSON.
func Safe(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports the runes above the C0 range that Safe escapes.
func unsafeRune(r rune) bool {
	switch {
	case r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		// Bidirectional embeddings, overrides, isolates and marks.
		return true
	}
	return false
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			// Plain ASCII is the rule; anything else gets the full look.
			if c >= 0x80 {
				return !safeUTF8(s[i:])
			}
			return true
		}
	}
	return false
}

// safeUTF8 reports whether s is valid UTF-8 holding nothing Safe escapes.
func safeUTF8(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r < 0x20 && r != '\n' && r != '\t' || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

// SafeWriter passes what is written through Safe. A character split across
// two writes is held back until it is whole (at most 3 bytes).
type SafeWriter struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte
}

// NewSafeWriter returns a writer that makes everything written to w safe
// for a terminal.
func NewSafeWriter(w io.Writer) *SafeWriter {
	if sw, ok := w.(*SafeWriter); ok {
		return sw
	}
	return &SafeWriter{w: w}
}

// Write implements io.Writer. It reports len(p) written when the escaped
// text was written in full.
func (s *SafeWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := make([]byte, 0, len(s.pending)+len(p))
	buf = append(append(buf, s.pending...), p...)
	s.pending = nil
	// Hold back an incomplete character at the end.
	cut := len(buf)
	for k := 1; k <= 3 && k <= len(buf); k++ {
		c := buf[len(buf)-k]
		if c < 0x80 {
			break
		}
		if c >= 0xc0 { // the first byte of a sequence
			if !utf8.FullRune(buf[len(buf)-k:]) {
				cut = len(buf) - k
			}
			break
		}
	}
	s.pending = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(s.w, Safe(string(buf[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a held-back incomplete character, escaped.
func (s *SafeWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	_, err := io.WriteString(s.w, Safe(string(s.pending)))
	s.pending = nil
	return err
}
