package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// IngestLockStale is how old the ingestor's lock of a table must be before
// the ingestor takes it over: a lock younger than this means a run is
// ingesting the table now.
const IngestLockStale = 12 * time.Hour

// ingestLockFile is the JSON the ingestor writes into its lock.
type ingestLockFile struct {
	IngestorID string          `json:"ingestor_id"`
	TableName  string          `json:"table_name"`
	PID        json.RawMessage `json:"pid"`
	Hostname   string          `json:"hostname"`
	StartedAt  string          `json:"started_at"`
}

// checkIngestLock reads the ingestor's own lock of the table through the
// agent, before anything is sent: a run ingesting the table reads its
// staged copy, which this push would replace under it. A live lock stops
// the push (exit 6); a stale one is a note.
func checkIngestLock(ctx context.Context, o Options, agent *podexec.RemoteAgent, r *Report) error {
	var found *proto.IngestLock
	err := agent.Run(ctx, []string{proto.CmdIngestLock, "--table", o.table()}, nil, func(m proto.Message) {
		if m.T == proto.MsgIngestLock {
			found = m.IngestLock
		}
	}, nil)
	if err == nil && found == nil {
		err = errors.New("the stage agent did not report the ingestor's lock")
	}
	if err != nil {
		return stageFailure(fmt.Errorf("reading the ingestor's lock of %s: %w", o.table(), err))
	}
	note, err := judgeIngestLock(o.table(), found)
	if note != "" {
		o.Printer.Notef("%s", note)
		r.Notes = append(r.Notes, note)
	}
	return err
}

// judgeIngestLock decides on what the agent found at the lock's path, by
// the ingestor's own rule: a lock is live for IngestLockStale from its
// started_at, or from the file's modification time when its JSON cannot be
// read. Ages count on the cluster's clock (the agent's).
func judgeIngestLock(table string, lk *proto.IngestLock) (string, error) {
	if lk == nil || !lk.Present {
		return "", nil
	}
	path := proto.SharedMount + "/" + proto.IngestLockName(table)
	if lk.NotFile != "" {
		return "", exitcode.Errorf(exitcode.TableExists,
			"%s is %s, not a lock file of the ingestor: the ingestor cannot take its lock of %s while it is there, and the push does not open what it did not create; remove it from the volume and push again", path, lk.NotFile, table)
	}
	now := time.Unix(lk.Now, 0)
	var f ingestLockFile
	started, ok := time.Time{}, false
	if !lk.TooLarge && json.Unmarshal([]byte(lk.Content), &f) == nil {
		started, ok = parseStartedAt(f.StartedAt)
	}
	holder := fmt.Sprintf("ingestor %s on host %s since %s", orUnknown(f.IngestorID), orUnknown(f.Hostname), orUnknown(f.StartedAt))
	if !ok {
		// The ingestor's rule for a lock it cannot read: its file's age.
		started = time.Unix(lk.Mtime, 0)
		holder = fmt.Sprintf("a lock whose content cannot be read, last written %s", started.UTC().Format(time.RFC3339))
	}
	age := now.Sub(started)
	if age >= IngestLockStale {
		return fmt.Sprintf("the ingestor's lock %s is stale (%s, %s ago; stale after %s): the next ingestion run of %s takes it over",
			path, holder, roundAge(age), hours(IngestLockStale), table), nil
	}
	return "", exitcode.Errorf(exitcode.TableExists,
		"table %s is being ingested now: the ingestor's lock %s is held (%s, %s ago), and a push now would replace the staged files that run reads; wait for it to end (kubectl tracebloc runs lists the runs) and push again; a lock left by a run that died goes stale %s after it started",
		table, path, holder, roundAge(age), hours(IngestLockStale))
}

// parseStartedAt reads the ingestor's started_at: naive UTC in ISO format
// with a Z appended ("2026-12-06T10:00:00.123456Z"); spellings with an
// offset or without the Z are read as well.
func parseStartedAt(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-07:00Z", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// orUnknown is a field of the lock as the message shows it. Anyone who
// can write the volume can write the lock: a field is shown on one line
// (a line break in it could print a line the plugin never wrote) and cut
// at maxLockField bytes (the file may hold 64 KiB).
func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(unknown)"
	}
	if len(s) > maxLockField {
		s = strings.ToValidUTF8(s[:maxLockField], "") + "..."
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}

// maxLockField bounds a lock field in a message: host names take at most
// 253 bytes.
const maxLockField = 256

// roundAge shows an age to the minute ("3h12m0s" → "3h12m"); a lock
// written by a clock ahead of the cluster's shows a negative age as it is.
func roundAge(d time.Duration) string {
	if d > -time.Minute && d < time.Minute {
		return "under a minute"
	}
	s := d.Truncate(time.Minute).String()
	return strings.TrimSuffix(s, "0s")
}

func hours(d time.Duration) string { return fmt.Sprintf("%.0f h", d.Hours()) }
