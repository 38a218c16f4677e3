//go:build linux

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// fileInfo is what the agent knows of one file of a copy.
type fileInfo struct {
	size  int64
	mtime int64 // nanoseconds
	ctime int64
	ino   uint64
	uid   uint32
	nlink uint64
}

func infoOf(st *unix.Stat_t) fileInfo {
	return fileInfo{
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		uid:   st.Uid,
		nlink: uint64(st.Nlink),
	}
}

// split cuts "folder/name" into its two parts ("" for a top-level file).
func split(rel string) (folder, name string) {
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// parentOf opens the folder that holds rel (d itself for a top-level file);
// the caller closes it unless it is d.
func parentOf(d *dir, rel string) (*dir, string, error) {
	folder, name := split(rel)
	if folder == "" {
		return d, name, nil
	}
	sub, err := d.openDir(folder)
	if err != nil {
		return nil, "", err
	}
	return sub, name, nil
}

func closeUnless(sub, d *dir) {
	if sub != d {
		sub.close()
	}
}

// walk lists the regular files of a copy (at most one folder deep) with what
// stat says of them. Anything else (links, FIFOs, devices, deeper folders)
// is passed to odd, which may remove it.
func walk(d *dir, odd func(parent *dir, name, rel string, st *unix.Stat_t)) (map[string]fileInfo, error) {
	files := map[string]fileInfo{}
	top, err := d.names()
	if err != nil {
		return nil, err
	}
	for _, n := range top {
		st, err := d.stat(n)
		if err != nil {
			continue
		}
		switch {
		case isFile(st):
			files[n] = infoOf(st)
		case isDir(st):
			sub, err := d.openDir(n)
			if err != nil {
				continue
			}
			names, err := sub.names()
			if err != nil {
				sub.close()
				return nil, err
			}
			for _, m := range names {
				mst, err := sub.stat(m)
				if err != nil {
					continue
				}
				if isFile(mst) {
					files[n+"/"+m] = infoOf(mst)
				} else if odd != nil {
					odd(sub, m, n+"/"+m, mst)
				}
			}
			sub.close()
		default:
			if odd != nil {
				odd(d, n, n, st)
			}
		}
	}
	return files, nil
}

// hashRel hashes the regular file rel under d, returning its sum and stat.
func hashRel(d *dir, rel string) (string, fileInfo, error) {
	parent, name, err := parentOf(d, rel)
	if err != nil {
		return "", fileInfo{}, err
	}
	defer closeUnless(parent, d)
	f, st, err := parent.openFile(name)
	if err != nil {
		return "", fileInfo{}, err
	}
	defer f.Close()
	sum, err := hashReader(f)
	return sum, infoOf(st), err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	if _, err := io.CopyBuffer(h, r, *buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashPath(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return hashReader(f)
}

// hashed is the SHA-256 of a file with what stat said of the file that was
// read: a later stat that differs means the hash no longer tells.
type hashed struct {
	sum  string
	info fileInfo
}

// hashMany hashes rels under d on workers goroutines. Files that cannot be
// read are left out of the result (the caller treats them as missing).
func hashMany(d *dir, rels []string, workers int) map[string]hashed {
	sort.Strings(rels)
	out := make(map[string]hashed, len(rels))
	var mu sync.Mutex
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range jobs {
				sum, info, err := hashRel(d, rel)
				if err != nil {
					continue
				}
				mu.Lock()
				out[rel] = hashed{sum: sum, info: info}
				mu.Unlock()
			}
		}()
	}
	for _, rel := range rels {
		jobs <- rel
	}
	close(jobs)
	wg.Wait()
	return out
}
