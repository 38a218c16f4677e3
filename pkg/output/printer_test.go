package output

import (
	"bytes"
	"errors"
	"testing"
)

func TestPrinterStreams(t *testing.T) {
	tests := []struct {
		name       string
		quiet      bool
		wantStderr string
	}{
		{name: "normal", quiet: false, wantStderr: "copying 3 files\nwarning: leftover pod\nerror: boom\n"},
		{name: "quiet keeps warnings and errors", quiet: true, wantStderr: "warning: leftover pod\nerror: boom\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := New(&out, &errOut, tt.quiet)
			p.Notef("copying %d files", 3)
			p.Warnf("leftover %s", "pod")
			p.Error(errors.New("boom"))
			p.Resultf("done\n")
			if got := errOut.String(); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
			if got := out.String(); got != "done\n" {
				t.Errorf("stdout = %q, want %q", got, "done\n")
			}
		})
	}
}

func TestJSONIsOneObject(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, &bytes.Buffer{}, false)
	if err := p.JSON(map[string]any{"status": "ok", "path": "a<b"}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"path\": \"a<b\",\n  \"status\": \"ok\"\n}\n"
	if out.String() != want {
		t.Errorf("JSON = %q, want %q", out.String(), want)
	}
}

func TestNoColorOffTerminal(t *testing.T) {
	p := New(&bytes.Buffer{}, &bytes.Buffer{}, false)
	if p.Color() {
		t.Error("colour must be off when stderr is not a terminal")
	}
}

func TestLogProgress(t *testing.T) {
	var errOut bytes.Buffer
	p := New(&bytes.Buffer{}, &errOut, false)
	p.LogInterval = 0
	pr := p.NewProgress("sending", 4<<20)
	pr.Add(1 << 20)
	pr.Add(3 << 20)
	pr.Finish()
	if n := bytes.Count(errOut.Bytes(), []byte("100%")); n != 1 {
		t.Errorf("the final line was printed %d times:\n%s", n, errOut.String())
	}
	got := errOut.String()
	if bytes.Contains([]byte(got), []byte("\r")) {
		t.Errorf("log progress holds a carriage return: %q", got)
	}
	for _, want := range []string{"sending:  25% 1.0 MiB / 4.0 MiB", "sending: 100% 4.0 MiB / 4.0 MiB"} {
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
}

func TestQuietProgressPrintsNothing(t *testing.T) {
	var errOut bytes.Buffer
	pr := New(&bytes.Buffer{}, &errOut, true).NewProgress("sending", 100)
	pr.Add(100)
	pr.Finish()
	if errOut.Len() != 0 {
		t.Errorf("quiet progress printed %q", errOut.String())
	}
}
