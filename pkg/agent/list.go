//go:build linux

package agent

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// list reports the staged tables and the leftovers of earlier pushes.
func list(e *env) error {
	shared, err := openRoot(e.root)
	if err != nil {
		return failf(proto.KindNoAccess, "the shared volume is not mounted at %s: %v", e.root, err)
	}
	defer shared.close()
	m := proto.Message{T: proto.MsgList, Tables: []proto.Table{}, Leftovers: []string{}}
	staging, err := shared.openDir(proto.StagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		e.send(m)
		return nil
	}
	if err != nil {
		return err
	}
	defer staging.close()
	names, err := staging.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		st, err := staging.stat(n)
		if err != nil || !isDir(st) {
			continue
		}
		switch {
		case proto.ValidTable(n):
			t := proto.Table{Name: n, Modified: st.Mtim.Sec}
			if d, err := staging.openDir(n); err == nil {
				if files, err := walk(d, nil); err == nil {
					for _, f := range files.files {
						t.Files++
						t.Bytes += f.info.size
					}
				}
				d.close()
			}
			m.Tables = append(m.Tables, t)
		case leftoverTable(n) != "":
			m.Leftovers = append(m.Leftovers, n)
		}
	}
	e.send(m)
	return nil
}

// leftoverTable returns the table a partial or set-aside folder belongs to.
func leftoverTable(name string) string {
	if t, ok := strings.CutPrefix(name, proto.PartialPrefix); ok && proto.ValidTable(t) {
		return t
	}
	if rest, ok := strings.CutPrefix(name, proto.OldPrefix); ok {
		// The suffix is what the swap appends (letters and digits only): a
		// slash or a dot would make the name a path that leaves the folder.
		if i := strings.LastIndexByte(rest, '-'); i > 0 && proto.ValidTable(rest[:i]) && plainSuffix(rest[i+1:]) {
			return rest[:i]
		}
	}
	return ""
}

// plainSuffix reports whether s is a non-empty run of ASCII letters and digits.
func plainSuffix(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// remove removes leftovers by name: partial folders, and set-aside copies
// (put back instead when their table has no staged copy, since they are
// then its only copy). With staged, names may also be staged tables, which
// are removed with their manifest. Nothing else can be named.
func remove(e *env, names []string, staged bool) error {
	shared, err := openRoot(e.root)
	if err != nil {
		return failf(proto.KindNoAccess, "the shared volume is not mounted at %s: %v", e.root, err)
	}
	defer shared.close()
	staging, err := shared.openDir(proto.StagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		e.send(proto.Message{T: proto.MsgRemoved})
		return nil
	}
	if err != nil {
		return err
	}
	defer staging.close()
	var notes []string
	for _, n := range names {
		table := leftoverTable(n)
		isTable := staged && proto.ValidTable(n)
		if table == "" && !isTable {
			return failf(proto.KindUsage, "%q is not a staging leftover", n)
		}
		if isTable {
			if err := staging.removeAll(n); err != nil {
				return err
			}
			if err := staging.removeEntry("." + n + proto.ManifestSuffix); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(n, proto.OldPrefix) {
			if _, err := staging.stat(table); errors.Is(err, fs.ErrNotExist) {
				st, serr := staging.stat(n)
				if serr == nil && isDir(st) && st.Uid == uint32(os.Geteuid()) && staging.rename(n, staging, table) == nil {
					notes = append(notes, "restored "+table+" from "+n)
					continue
				}
			}
		}
		if err := staging.removeAll(n); err != nil {
			return err
		}
	}
	e.send(proto.Message{T: proto.MsgRemoved, Notes: notes})
	return nil
}
