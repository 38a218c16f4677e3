package push

import (
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestJudgeIngestLock: the ingestor's rule, a lock is live for 12 h from
// started_at, or from the file's mtime when its JSON cannot be read.
func TestJudgeIngestLock(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	lock := func(started string) string {
		return `{"ingestor_id": "ing-7", "table_name": "cats", "pid": 12, "hostname": "node-a", "started_at": "` + started + `"}`
	}
	tests := []struct {
		name     string
		lk       *proto.IngestLock
		wantCode int
		want     []string // in the error or the note
	}{
		{name: "no lock", lk: &proto.IngestLock{Now: now.Unix()}},
		{name: "nil", lk: nil},
		{name: "live", lk: &proto.IngestLock{Present: true, Content: lock("2026-12-06T11:00:00.123456Z"), Mtime: now.Unix(), Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{"ingestor ing-7", "host node-a", "since 2026-12-06T11:00:00.123456Z", "59m ago", "/data/shared/.tracebloc-ingest-cats.lock"}},
		{name: "live without fraction", lk: &proto.IngestLock{Present: true, Content: lock("2026-12-06T00:00:01Z"), Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{"11h59m ago"}},
		{name: "stale by started_at although just written", lk: &proto.IngestLock{Present: true, Content: lock("2026-12-05T23:59:59Z"), Mtime: now.Unix(), Now: now.Unix()},
			want: []string{"stale", "ingestor ing-7", "12h0m ago"}},
		{name: "unreadable and recent", lk: &proto.IngestLock{Present: true, Content: "{half", Mtime: now.Add(-time.Hour).Unix(), Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{"cannot be read", "1h0m ago"}},
		{name: "unreadable and old", lk: &proto.IngestLock{Present: true, Content: "", Mtime: now.Add(-13 * time.Hour).Unix(), Now: now.Unix()},
			want: []string{"stale", "cannot be read", "13h0m ago"}},
		{name: "no started_at: by mtime", lk: &proto.IngestLock{Present: true, Content: `{"ingestor_id": "x"}`, Mtime: now.Add(-20 * time.Hour).Unix(), Now: now.Unix()},
			want: []string{"stale"}},
		{name: "too large to be a lock: by mtime", lk: &proto.IngestLock{Present: true, Content: lock("2026-12-06T11:00:00Z"), TooLarge: true, Mtime: now.Add(-20 * time.Hour).Unix(), Now: now.Unix()},
			want: []string{"stale", "cannot be read"}},
		{name: "from a clock ahead", lk: &proto.IngestLock{Present: true, Content: lock("2026-12-06T12:10:00Z"), Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{"-10m ago"}},
		{name: "fields on one line, bounded", lk: &proto.IngestLock{Present: true, Content: `{"ingestor_id": "a\nerror: nothing was pushed\n", "hostname": "` + strings.Repeat("h", 10000) + `", "started_at": "2026-12-06T11:00:00Z"}`, Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{`ingestor a\nerror: nothing was pushed\n on host`, strings.Repeat("h", 256) + "... since"}},
		{name: "a link", lk: &proto.IngestLock{Present: true, NotFile: "a symbolic link", Now: now.Unix()},
			wantCode: exitcode.TableExists, want: []string{"is a symbolic link, not a lock file", "remove it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			note, err := judgeIngestLock("cats", tt.lk)
			if exitcode.Of(err) != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v (note %q)", exitcode.Of(err), tt.wantCode, err, note)
			}
			text := note
			if err != nil {
				text = err.Error()
				if note != "" {
					t.Errorf("a refusal with a note: %q", note)
				}
			}
			if len(tt.want) == 0 && text != "" {
				t.Errorf("want nothing, got %q", text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("want %q in %q", w, text)
				}
			}
		})
	}
}
