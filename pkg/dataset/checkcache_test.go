//go:build unix

package dataset

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// pastRacyWindow moves the check's clock on, so that files a test has just
// written are old enough to be cached.
func pastRacyWindow(t *testing.T) {
	t.Helper()
	was := cacheClock
	cacheClock = func() time.Time { return time.Now().Add(time.Hour) }
	t.Cleanup(func() { cacheClock = was })
}

// checkTwice is the outcome of a check: the dataset, or the problems.
type checkOutcome struct {
	Files  []File
	Bytes  int64
	Labels map[string]int
	Notes  []string
	Err    string
}

func outcomeOf(ds *Dataset, err error) checkOutcome {
	if err != nil {
		return checkOutcome{Err: err.Error()}
	}
	return checkOutcome{Files: ds.Files, Bytes: ds.Bytes, Labels: ds.Labels, Notes: ds.Notes}
}

func cachedText(t *testing.T, task, dir, cacheDir string) (*Dataset, error) {
	t.Helper()
	o := textOpts(t, task)
	o.CacheDir = cacheDir
	return CheckText(dir, o)
}

// TestCheckCacheGivesWhatAReadGives: a re-check of an unchanged folder
// takes every verdict from the cache and reports exactly what reading the
// files reported, for each text task, with and without problems (the
// files with problems are not cached and are read again).
func TestCheckCacheGivesWhatAReadGives(t *testing.T) {
	pastRacyWindow(t)
	tests := []struct {
		name, task string
		mutate     func(t *testing.T, dir string)
		// unread: files read again on the second check (not cached).
		unread int
	}{
		{name: "clean", task: "text_classification"},
		{name: "an empty text is a note", task: "text_classification", mutate: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "texts", "t_00003.txt"), " \n")
		}},
		{name: "a text that is not UTF-8", task: "text_classification", unread: 1, mutate: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "texts", "t_00004.txt"), "caf\xe9\n")
		}},
		{name: "a pair without its tab", task: "sentence_pair_classification", unread: 1, mutate: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "texts", "t_00002.txt"), "no tab\n")
		}},
		// The word count comes from the cache: a row's tags are still
		// held to it.
		{name: "tags that do not match the words", task: "token_classification", mutate: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "texts", "t_00001.txt"), "two words\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cache := t.TempDir(), t.TempDir()
			must(t, fixture.WriteText(dir, fixture.TextOptions{Task: tt.task, Files: 12, Seed: 3}))
			if tt.mutate != nil {
				tt.mutate(t, dir)
			}
			read := outcomeOf(CheckText(dir, textOpts(t, tt.task)))
			first := outcomeOf(cachedText(t, tt.task, dir, cache))
			ds, err := cachedText(t, tt.task, dir, cache)
			second := outcomeOf(ds, err)
			if diff := cmp.Diff(read, first); diff != "" {
				t.Errorf("the first check with a cache differs from a plain check (-read +cached):\n%s", diff)
			}
			if diff := cmp.Diff(read, second); diff != "" {
				t.Errorf("the check from the cache differs from a read (-read +cached):\n%s", diff)
			}
			if ds != nil && ds.Cached != 12-tt.unread {
				t.Errorf("%d files from the cache, want %d", ds.Cached, 12-tt.unread)
			}
		})
	}
}

// TestCheckCacheReadsAgain: whatever could change a file's verdict sends
// the check back to the file.
func TestCheckCacheReadsAgain(t *testing.T) {
	pastRacyWindow(t)
	const bad = "texts/t_00005.txt line 1 is not valid UTF-8: save the file as UTF-8 text"
	tests := []struct {
		name   string
		change func(t *testing.T, dir, cache string)
		task   string
		want   string
		note   string
	}{
		{name: "a changed file", want: bad, change: func(t *testing.T, dir, _ string) {
			writeFile(t, filepath.Join(dir, "texts", "t_00005.txt"), "\xff not text at all\n")
		}},
		{name: "a same-size edit with its mtime put back", want: bad, change: func(t *testing.T, dir, _ string) {
			p := filepath.Join(dir, "texts", "t_00005.txt")
			st, err := os.Stat(p)
			must(t, err)
			b, err := os.ReadFile(p)
			must(t, err)
			b[0] = 0xff
			// The change time ticks on a coarse clock on some filesystems.
			time.Sleep(20 * time.Millisecond)
			must(t, os.WriteFile(p, b, 0o644))
			must(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
		}},
		{name: "another task", task: "sentence_pair_classification",
			want: "texts/t_00000.txt line 1 has 1 field: a record of sentence_pair_classification is text_a<TAB>text_b"},
		{name: "a damaged cache", note: "ignoring the check cache", change: func(t *testing.T, _, cache string) {
			damage(t, cache)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cache := t.TempDir(), t.TempDir()
			must(t, fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 12, Seed: 3}))
			if _, err := cachedText(t, "text_classification", dir, cache); err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(t, dir, cache)
			}
			task := "text_classification"
			if tt.task != "" {
				task = tt.task
			}
			ds, err := cachedText(t, task, dir, cache)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("check = %v, want it to report %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Cached != 0 {
				t.Errorf("%d files from a damaged cache, want none", ds.Cached)
			}
			if !strings.Contains(strings.Join(ds.CacheNotes, "\n"), tt.note) {
				t.Errorf("notes %q, want one saying %q", ds.CacheNotes, tt.note)
			}
			// The cache was written anew: the next check takes from it.
			if ds, err := cachedText(t, task, dir, cache); err != nil || ds.Cached != 12 {
				t.Errorf("check after the rewrite: %v, %d files from the cache, want 12", err, ds.Cached)
			}
		})
	}
}

// damage flips, in each cache of dir, the bit of the last record that says
// its file is empty: a damage only the checksum tells.
func damage(t *testing.T, dir string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, checkCachePrefix+"*"))
	must(t, err)
	if len(names) == 0 {
		t.Fatal("no cache written")
	}
	for _, p := range names {
		b, err := os.ReadFile(p)
		must(t, err)
		b[len(b)-sha256.Size-8-1] ^= 0x80
		must(t, os.WriteFile(p, b, 0o600))
	}
}

// TestCheckCacheSkipsRecentFiles: a file changed within racyWindow of the
// check's start could change again within its timestamps' tick unseen: it
// is not cached.
func TestCheckCacheSkipsRecentFiles(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	must(t, fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 5, Seed: 3}))
	for range 2 {
		ds, err := cachedText(t, "text_classification", dir, cache)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Cached != 0 {
			t.Fatalf("%d files just written came from the cache", ds.Cached)
		}
	}
}

// TestCheckCacheTrim: past the bound, the caches checked longest ago go,
// and a half-written one left by a stopped check is removed once old;
// other files of the folder stay, even under a name a cache could have
// (the folder may be shared: TRACEBLOC_CACHE_DIR).
func TestCheckCacheTrim(t *testing.T) {
	dir := t.TempDir()
	long := time.Now().Add(-2 * time.Hour)
	cache := checkCacheMagic + strings.Repeat("x", 100-len(checkCacheMagic))
	for i, f := range []struct{ name, body string }{
		{checkCachePrefix + "old", cache},
		{checkCachePrefix + "new", cache},
		{checkCacheTemp + "1", cache},
		{checkCacheTemp + "2", ""},
		{checkCacheTemp + "3", "the user's own notes"},
		{checkCachePrefix + "notes.txt", strings.Repeat("the user's own notes ", 20)},
		{"0123456789abcdef0123456789abcdef", strings.Repeat("x", 100)},
		{"staged-seals", strings.Repeat("x", 100)},
	} {
		p := filepath.Join(dir, f.name)
		writeFile(t, p, f.body)
		if i != 1 {
			must(t, os.Chtimes(p, long, long))
		}
	}
	trimCheckCaches(dir, filepath.Join(dir, checkCachePrefix+"keep"), 150)
	var left []string
	entries, err := os.ReadDir(dir)
	must(t, err)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{checkCacheTemp + "3", "0123456789abcdef0123456789abcdef", checkCachePrefix + "new", checkCachePrefix + "notes.txt", "staged-seals"}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("left in the cache folder (-want +got):\n%s", diff)
	}
}

// TestCheckCacheAttacks: after every text's verdict was cached, a text
// replaced by a link or a FIFO, a labels.csv that now names a text that
// is not there or gives a row no label, and a token_classification row
// whose tags no longer match the cached word count are each still found.
func TestCheckCacheAttacks(t *testing.T) {
	pastRacyWindow(t)
	tests := []struct {
		name, task string
		change     func(t *testing.T, dir string)
		want       string
	}{
		{name: "a text replaced by a link", change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "texts", "t_00005.txt")
			must(t, os.Rename(p, filepath.Join(dir, "elsewhere.txt")))
			must(t, os.Symlink(filepath.Join(dir, "elsewhere.txt"), p))
		}, want: "t_00005.txt"},
		{name: "a text replaced by a FIFO", change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "texts", "t_00005.txt")
			must(t, os.Remove(p))
			must(t, unix.Mkfifo(p, 0o644))
		}, want: "t_00005.txt"},
		{name: "labels.csv names a text not there", change: func(t *testing.T, dir string) {
			appendLine(t, filepath.Join(dir, "labels.csv"), "t_99999.txt,"+firstLabel(t, dir))
		}, want: "t_99999.txt"},
		{name: "tags that no longer match the cached words", task: "token_classification", change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "labels.csv")
			b, err := os.ReadFile(p)
			must(t, err)
			lines := strings.Split(string(b), "\n")
			lines[1] += " O"
			must(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644))
		}, want: "t_00000.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task
			if task == "" {
				task = "text_classification"
			}
			dir, cache := t.TempDir(), t.TempDir()
			must(t, fixture.WriteText(dir, fixture.TextOptions{Task: task, Files: 12, Seed: 3}))
			cached := 0
			for range 2 {
				ds, err := cachedText(t, task, dir, cache)
				if err != nil {
					t.Fatal(err)
				}
				cached = ds.Cached
			}
			if cached != 12 {
				t.Fatalf("%d verdicts cached before the change, want 12", cached)
			}
			tt.change(t, dir)
			_, err := cachedText(t, task, dir, cache)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("check = %v, want a problem naming %s", err, tt.want)
			}
		})
	}
}

func appendLine(t *testing.T, p, line string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString(line + "\n")
	must(t, err)
	must(t, f.Close())
}

func firstLabel(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	must(t, err)
	row := strings.Split(strings.Split(string(b), "\n")[1], ",")
	return row[len(row)-1]
}

// TestCheckCachePlanted: what is planted under a cache's name in the cache
// folder (a FIFO, a link to a good cache of the same folder, the cache of
// another folder copied over it) gives no verdict: every text is read,
// without waiting on the FIFO, and the check passes.
func TestCheckCachePlanted(t *testing.T) {
	pastRacyWindow(t)
	tests := []struct {
		name  string
		plant func(t *testing.T, path, other string)
	}{
		{name: "a FIFO", plant: func(t *testing.T, path, _ string) {
			must(t, os.Remove(path))
			must(t, unix.Mkfifo(path, 0o600))
		}},
		{name: "a link to the cache", plant: func(t *testing.T, path, _ string) {
			must(t, os.Rename(path, path+".real"))
			must(t, os.Symlink(path+".real", path))
		}},
		{name: "another folder's cache", plant: func(t *testing.T, path, other string) {
			must(t, os.Rename(other, path))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, dir2, cache := t.TempDir(), t.TempDir(), t.TempDir()
			for _, d := range []string{dir, dir2} {
				must(t, fixture.WriteText(d, fixture.TextOptions{Task: "text_classification", Files: 12, Seed: 3}))
			}
			if _, err := cachedText(t, "text_classification", dir, cache); err != nil {
				t.Fatal(err)
			}
			mine, err := filepath.Glob(filepath.Join(cache, checkCachePrefix+"*"))
			must(t, err)
			if _, err := cachedText(t, "text_classification", dir2, cache); err != nil {
				t.Fatal(err)
			}
			all, err := filepath.Glob(filepath.Join(cache, checkCachePrefix+"*"))
			must(t, err)
			if len(mine) != 1 || len(all) != 2 {
				t.Fatalf("caches %q then %q: want one a folder", mine, all)
			}
			other := all[0]
			if other == mine[0] {
				other = all[1]
			}
			tt.plant(t, mine[0], other)
			done := make(chan struct{})
			var ds *Dataset
			go func() {
				defer close(done)
				ds, err = cachedText(t, "text_classification", dir, cache)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the check waits on what was planted")
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Cached != 0 {
				t.Errorf("%d verdicts from what was planted, want none", ds.Cached)
			}
		})
	}
}
