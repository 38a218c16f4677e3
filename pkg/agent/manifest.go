//go:build linux

package agent

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
)

// manifestHeader opens the manifest: one line per file follows,
// "<sha256> <size> <mtime> <ctime> <inode> <path>". Lines, not one JSON
// object, so that reading a manifest planted on the volume takes memory
// for one line at a time and for no more entries than the staged copy
// has files.
const manifestHeader = "tracebloc-manifest 2"

// maxManifestLine bounds a line of the manifest: a hash, four numbers and
// a path of at most 1024 bytes.
const maxManifestLine = 2048

// writeManifest records the hash of each file of the new copy with what
// stat says of it now. It is only a hint: a later push trusts an entry only
// while size, times and inode still match, and verifies the new copy in full.
//
// The stat taken as the copy was verified still holds after the swap (a
// rename of the folder changes no file), unless files were links to the
// previous copy: removing it changed their link count and ctime, so the
// new copy is walked again.
func (s *stager) writeManifest(t *dir) {
	plan := s.verified
	if plan == nil {
		return
	}
	if s.relinked {
		files, err := walk(t, nil)
		if err != nil {
			return
		}
		for j := range plan.files {
			plan.files[j].seen = false
		}
		for i := range files.files {
			// The removal changed a reused file's link count and change
			// time, nothing else: one of another size, mtime or inode was
			// written since it was verified, and is left out.
			j := plan.find(files.folderOf(i), files.files[i].name)
			if j < 0 {
				continue
			}
			was, now := plan.files[j].got.info, files.files[i].info
			if now.ino == was.ino && now.size == was.size && now.mtime == was.mtime {
				plan.files[j].got.info = now
				plan.files[j].seen = true
			}
		}
	}
	h := sha256.New()
	err := writeStream(s.staging, s.manifestName(), func(bw *bufio.Writer) {
		w := io.MultiWriter(bw, h)
		_, _ = io.WriteString(w, manifestHeader+"\n")
		var line []byte
		var hexSum [2 * sha256.Size]byte
		for j := range plan.files {
			p := &plan.files[j]
			if !p.seen || p.stale {
				continue
			}
			hex.Encode(hexSum[:], p.got.sum[:])
			line = append(line[:0], hexSum[:]...)
			for _, n := range []int64{p.got.info.size, p.got.info.mtime, p.got.info.ctime} {
				line = strconv.AppendInt(append(line, ' '), n, 10)
			}
			line = strconv.AppendUint(append(line, ' '), p.got.info.ino, 10)
			line = append(append(line, ' '), p.rel...)
			line = append(line, '\n')
			_, _ = w.Write(line)
		}
	})
	if err != nil {
		_ = s.staging.removeEntry(s.manifestName())
		return
	}
	s.seal = sealWritten(s.staging, s.manifestName(), h.Sum(nil))
}

// readManifest takes the hashes of the staged copy's files (in files) from
// its manifest, where size, times and inode are as the manifest recorded
// them. Anything unreadable, more entries than the copy has files, or a
// manifest the agent did not write (another uid's, or one another name
// links to, which its owner may have rewritten) counts as no manifest:
// the files are hashed instead.
func readManifest(staging *dir, name string, files *fileList) {
	f, st, err := staging.openFile(name)
	if err != nil {
		return
	}
	defer f.Close()
	if st.Uid != uint32(os.Geteuid()) || st.Nlink != 1 {
		return
	}
	if !readManifestLines(f, files) {
		for i := range files.files {
			files.files[i].known = false
		}
	}
}

// readManifestLines reads the manifest's lines into files; false when the
// manifest is not one to trust.
func readManifestLines(f io.Reader, files *fileList) bool {
	r := bufio.NewReaderSize(io.LimitReader(f, maxPlan), 4<<10)
	if line, err := readLine(r, maxManifestLine); err != nil || line != manifestHeader {
		return false
	}
	for n := 0; ; n++ {
		line, err := readLine(r, maxManifestLine)
		if errors.Is(err, io.EOF) && line == "" {
			return true
		}
		if err != nil || n >= len(files.files) {
			return false
		}
		fields := strings.SplitN(line, " ", 6)
		if len(fields) != 6 {
			return false
		}
		sum, ok := parseDigest(fields[0])
		var nums [4]int64
		for k := range nums {
			if nums[k], err = strconv.ParseInt(fields[k+1], 10, 64); err != nil {
				return false
			}
		}
		if !ok {
			return false
		}
		folder, base := split(fields[5])
		i := files.find(folder, base)
		if i < 0 {
			continue
		}
		fi := &files.files[i]
		if fi.info.size == nums[0] && fi.info.mtime == nums[1] && fi.info.ctime == nums[2] && fi.info.ino == uint64(nums[3]) {
			fi.sum, fi.known = sum, true
		}
	}
}

// errLongLine is a line longer than its reader allows.
var errLongLine = errors.New("line too long")

// readLine reads one line of at most max bytes (without its newline) in
// memory for max bytes, whatever the input holds. A last line without a
// newline is returned with io.EOF.
func readLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return "", errLongLine
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return string(line[:len(line)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(line), err
		}
	}
}
